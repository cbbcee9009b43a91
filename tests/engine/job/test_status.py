"""Batch status -> outcome (and Flyte phase) and message."""

from __future__ import annotations

from typing import Any

import pytest

from openai_batch_jobs.job.status import Outcome, batch_outcome, custom_info


def batch(status: str, **fields: Any) -> dict[str, Any]:
    return {"id": "batch_1", "status": status, **fields}


COUNTS = {"request_counts": {"total": 10, "completed": 7, "failed": 1}}


@pytest.mark.parametrize("status", ["validating", "in_progress", "finalizing", "cancelling"])
def test_running_statuses(status: str) -> None:
    state = batch_outcome(batch(status, **COUNTS))
    assert state.outcome is Outcome.RUNNING
    assert status in state.message
    assert "7 of 10" in state.message


def test_completed_succeeds_and_names_files() -> None:
    state = batch_outcome(batch("completed", output_file_id="file-o", error_file_id="file-e", **COUNTS))
    assert state.succeeded
    assert "file-o" in state.message
    assert "file-e" in state.message


def test_failed_carries_errors_and_counts() -> None:
    errors = {"data": [{"code": "invalid_json_line", "message": "bad line", "line": 3}]}
    state = batch_outcome(batch("failed", errors=errors, **COUNTS))
    assert state.outcome is Outcome.FAILED
    assert "[invalid_json_line] bad line (line 3)" in state.message
    assert "7 of 10 requests completed, 1 failed" in state.message


def test_failed_for_token_limit_is_retryable() -> None:
    errors = {"data": [{"code": "token_limit_exceeded", "message": "Enqueued token limit reached"}]}
    state = batch_outcome(batch("failed", errors=errors))
    assert state.outcome is Outcome.RETRYABLE_FAILED
    assert "retry" in state.message


def test_failed_with_mixed_errors_is_not_retryable() -> None:
    errors = {"data": [{"code": "token_limit_exceeded"}, {"code": "invalid_request"}]}
    assert batch_outcome(batch("failed", errors=errors)).outcome is Outcome.FAILED
    assert batch_outcome(batch("failed")).outcome is Outcome.FAILED


def test_many_errors_are_cut() -> None:
    errors = {"data": [{"code": "e", "message": str(i)} for i in range(9)]}
    assert "and 4 more" in batch_outcome(batch("failed", errors=errors)).message


@pytest.mark.parametrize("status", ["expired", "cancelled"])
def test_partial_results_fail_by_default_saying_where_they_are(status: str) -> None:
    state = batch_outcome(batch(status, output_file_id="file-o", **COUNTS))
    assert state.outcome is Outcome.FAILED
    assert "7 of 10 requests completed" in state.message
    assert "output file file-o" in state.message
    assert "accept_partial_results=True" in state.message


@pytest.mark.parametrize("status", ["expired", "cancelled"])
def test_partial_results_accepted(status: str) -> None:
    assert batch_outcome(batch(status, error_file_id="file-e"), accept_partial_results=True).succeeded
    # Nothing to accept without a file.
    state = batch_outcome(batch(status), accept_partial_results=True)
    assert state.outcome is Outcome.FAILED
    assert "no result files" in state.message


def test_unknown_status_keeps_running_and_says_so() -> None:
    state = batch_outcome(batch("paused"))
    assert state.outcome is Outcome.RUNNING
    assert "'paused'" in state.message
    assert "does not know" in state.message


def test_custom_info() -> None:
    info = custom_info(batch("completed", output_file_id="file-o", **COUNTS))
    assert info == {
        "batch_id": "batch_1",
        "status": "completed",
        "request_counts": {"total": 10, "completed": 7, "failed": 1},
        "output_file_id": "file-o",
    }


def test_a_batch_that_ended_says_no_requests_were_run_not_yet() -> None:
    errors = {"data": [{"code": "invalid_json_line", "message": "bad line", "line": 1}]}
    failed = batch_outcome(
        batch("failed", errors=errors, request_counts={"total": 0, "completed": 0, "failed": 0})
    )
    assert "no requests were run" in failed.message
    assert "yet" not in failed.message
    assert "no requests counted yet" in batch_outcome(batch("validating")).message


def test_one_request_is_singular() -> None:
    state = batch_outcome(batch("completed", request_counts={"total": 1, "completed": 1, "failed": 0}))
    assert "1 of 1 request completed, 0 failed" in state.message
