"""A job whose batches expire, in a local run of create_batch with its defaults against the emulator
(issue 24, item 1): the unanswered requests are sent again, and every request ends answered or in the
error file with `batch_expired` and its attempts."""

from __future__ import annotations

from pathlib import Path

import pytest
from flytekit.types.file import JSONLFile

from flytekitplugins.openai import create_batch
from openai_batch_emulator import Emulator
from openai_batch_jobs.errors import OpenAIBatchError

from .conftest import SECRET
from .test_request_retries import read_jsonl, write_requests

pytestmark = pytest.mark.slow


def job_batches(emulator: Emulator) -> list[str]:
    """The statuses of the emulator's batches, oldest first."""
    with emulator.client() as client:
        return [b.status for b in reversed(client.batches.list(limit=100).data)]


def test_expired_batches_unanswered_requests_are_sent_again_by_default(
    local_env: dict[str, str], emulator: Emulator, tmp_path: Path
) -> None:
    # 10 requests a second, a 2 s window (0.2 s of it validating): round 1's batch of 30 expires with
    # about 18 answered; round 2's dozen fit in the window.
    emulator.configure(requests_per_second=10, completion_window_seconds=2)
    ids = [f"req-{i:03d}" for i in range(30)]
    wf = create_batch(name="expiring", secret=SECRET, is_json_iterator=False)
    result = wf(jsonl_in=JSONLFile(str(write_requests(tmp_path / "requests.jsonl", ids))))
    answered = {line["custom_id"]: line for line in read_jsonl(result.output_file)}
    errors = {line["custom_id"]: line for line in read_jsonl(result.error_file)}
    statuses = job_batches(emulator)
    print(f"batches: {statuses}; {len(answered)} answered, {len(errors)} in the error file")
    assert statuses[0] == "expired"
    assert len(statuses) >= 2  # a second round ran
    assert sorted({*answered, *errors}) == ids
    assert not set(answered) & set(errors)
    assert any(line["attempts"] > 1 for line in answered.values())
    for line in errors.values():  # what the last round could not answer either
        assert line["error"]["code"] == "batch_expired", line
        assert line["attempts"] == 3, line


def test_with_one_attempt_an_expired_batch_fails_the_job_unless_partial_results_are_accepted(
    local_env: dict[str, str], emulator: Emulator, tmp_path: Path
) -> None:
    emulator.configure(requests_per_second=10, completion_window_seconds=2)
    ids = [f"req-{i:03d}" for i in range(30)]
    path = str(write_requests(tmp_path / "requests.jsonl", ids))
    strict = create_batch(name="strict", secret=SECRET, is_json_iterator=False, max_request_attempts=1)
    with pytest.raises(OpenAIBatchError, match="expired") as failed:
        strict(jsonl_in=JSONLFile(path))
    assert "accept_partial_results=True" in str(failed.value)
    lenient = create_batch(
        name="lenient",
        secret=SECRET,
        is_json_iterator=False,
        max_request_attempts=1,
        accept_partial_results=True,
    )
    result = lenient(jsonl_in=JSONLFile(path))
    errors = read_jsonl(result.error_file)
    assert errors
    assert {line["error"]["code"] for line in errors} == {"batch_expired"}
    assert len(read_jsonl(result.output_file)) + len(errors) == 30
