"""The job's rules on batches as the API returns them, its settings and its resource meta."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from flytekitplugins.openai.batch.errors import BatchConfigError, ResourceMetaError
from flytekitplugins.openai.batch.job.meta import BatchJobMetadata
from flytekitplugins.openai.batch.job.settings import JobTaskSettings
from openai_batch_jobs.errors import TaskTemplateError
from openai_batch_jobs.job.state import job_state
from openai_batch_jobs.job.status import Outcome, PartStage

KEY = "p/d/e/n0/0"


def meta(parts: int = 2, **settings: Any) -> BatchJobMetadata:
    return BatchJobMetadata(KEY, [f"file-{i}" for i in range(parts)], 1000.0, JobTaskSettings(**settings))


def batch(
    part: int, status: str, *, total: int = 0, completed: int = 0, code: str | None = None, at: int = 2000
) -> dict[str, Any]:
    return {
        "id": f"batch-{part}-{status}-{at}",
        "status": status,
        "input_file_id": f"file-{part}",
        "metadata": {"flyte_task_execution": KEY, "flyte_job_part": str(part)},
        "request_counts": {"total": total, "completed": completed, "failed": 0},
        "errors": {"data": [{"code": code, "message": "no room"}]} if code else None,
        "created_at": at,
        "failed_at": at if status == "failed" else None,
        "output_file_id": "file-out" if completed else None,
    }


def test_a_job_of_no_parts_succeeds_at_once() -> None:
    state = job_state(meta(parts=0), [], 2000.0)
    assert state.outcome is Outcome.SUCCEEDED
    assert state.result() == {
        "batches": [],
        "parts": 0,
        "parts_done": 0,
        "failed_parts": [],
        "request_counts": {"total": 0, "completed": 0, "failed": 0},
    }


def test_parts_without_batches_are_submitted_and_reported_not_started() -> None:
    state = job_state(meta(parts=3), [batch(0, "in_progress", total=4, completed=1)], 2000.0)
    assert state.outcome is Outcome.RUNNING
    assert [p.index for p in state.to_submit] == [1, 2]
    assert state.message == (
        "Job running: 0 of 3 parts done, 1 running, 2 queued; 1 of 4 requests completed, 0 failed "
        "(2 parts not counted yet)."
    )
    assert state.result()["batches"][1] == {"input_file_id": "file-1", "status": "not_started"}


def test_the_newest_batch_of_a_part_counts_and_a_token_limited_part_waits_then_is_ready() -> None:
    batches = [
        batch(1, "failed", code="token_limit_exceeded", at=2000),
        batch(0, "completed", total=1, completed=1),
    ]
    waiting = job_state(meta(token_limit_wait_s=60.0, token_limit_attempts=3), batches, 2030.0)
    assert waiting.parts[1].state is PartStage.WAITING
    assert "submitting again in 30 s (attempt 2 of 3, 60 s apart)" in waiting.message
    assert waiting.to_submit == []
    ready = job_state(meta(token_limit_wait_s=60.0, token_limit_attempts=3), batches, 2061.0)
    assert [p.index for p in ready.to_submit] == [1]
    newer = [batch(1, "in_progress", at=2070), *batches]
    assert job_state(meta(), newer, 2080.0).parts[1].state is PartStage.RUNNING


def test_failed_parts_fail_the_job_unless_partial_results_are_accepted() -> None:
    batches = [batch(0, "completed", total=2, completed=2), batch(1, "failed")]
    failed = job_state(meta(), batches, 2000.0)
    assert failed.outcome is Outcome.FAILED
    assert failed.message.startswith(
        "Job failed: part 2 (file-1): batch batch-1-failed-2000 failed: no error details"
    )
    kept = job_state(meta(accept_partial_results=True), batches, 2000.0)
    assert kept.outcome is Outcome.SUCCEEDED
    assert kept.result()["failed_parts"] == [1]
    everything_failed = job_state(meta(parts=1, accept_partial_results=True), [batch(0, "failed")], 2000.0)
    assert everything_failed.outcome is Outcome.FAILED


def test_one_request_is_singular() -> None:
    state = job_state(meta(parts=1), [batch(0, "completed", total=1, completed=1)], 2000.0)
    assert state.message == "Job done: 1 of 1 part done; 1 of 1 request completed, 0 failed."


def test_settings_round_trip_through_custom_and_bad_ones_are_named() -> None:
    settings = JobTaskSettings(config={"endpoint": "/v1/embeddings"}, max_in_flight=3, token_limit_wait_s=9.5)
    # A protobuf Struct carries every number as a float.
    custom = json.loads(
        json.dumps(
            {
                k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v
                for k, v in settings.to_custom().items()
            }
        )
    )
    assert JobTaskSettings.from_custom(custom) == settings
    with pytest.raises(BatchConfigError, match="max_in_flight of BatchJobTask 'j' must be at least 1"):
        JobTaskSettings(max_in_flight=0).check("j")
    with pytest.raises(TaskTemplateError, match="'token_limit_wait_s' must be a number"):
        JobTaskSettings.from_custom({"token_limit_wait_s": "soon"})


def test_resource_meta_is_json_and_a_pickle_is_refused() -> None:
    original = meta(parts=2, max_in_flight=4)
    assert BatchJobMetadata.decode(original.encode()) == original
    assert json.loads(original.encode())["input_file_ids"] == ["file-0", "file-1"]
    with pytest.raises(ResourceMetaError, match="is a pickle"):
        BatchJobMetadata.decode(pickle.dumps({"key": KEY}, protocol=4))


def test_an_expired_part_is_done_when_a_later_round_sends_its_unanswered_requests_again() -> None:
    expired = {**batch(1, "expired", total=10, completed=6), "error_file_id": "file-err"}
    batches = [batch(0, "completed", total=10, completed=10), expired]
    strict = job_state(meta(), batches, 3000.0)
    assert strict.outcome is Outcome.FAILED
    assert "accept_partial_results=True" in strict.message
    resent = job_state(meta(resend_unanswered=True), batches, 3000.0)
    assert resent.outcome is Outcome.SUCCEEDED
    assert resent.result()["parts_done"] == 2
    assert resent.result()["failed_parts"] == []
    assert "Done with partial results: part 2 (file-1) (expired)" in resent.message
    assert "the collect step sends them again in the next round" in resent.message
    # A batch that failed outright still fails the job: only unanswered requests are sent again.
    failed = job_state(meta(resend_unanswered=True), [batches[0], batch(1, "failed", code="x")], 3000.0)
    assert failed.outcome is Outcome.FAILED


def test_resend_unanswered_travels_in_the_template_and_only_when_set() -> None:
    assert "resend_unanswered" not in JobTaskSettings().to_custom()
    custom = JobTaskSettings(resend_unanswered=True).to_custom()
    assert custom["resend_unanswered"] is True
    assert JobTaskSettings.from_custom(custom).resend_unanswered
