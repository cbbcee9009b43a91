"""How a batch's status reads as an outcome (running, succeeded, failed, worth a new attempt), and its message.

Kept apart from the connector so that the rules (what counts as success, what is worth a retry)
are in one short place, working on the batch as the plain dict the API returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from openai_batch_jobs.api.batch_api import (
    ACTIVE_STATUSES,
    PARTIAL_STATUSES,
    batch_error_text,
    batch_errors,
)
from openai_batch_jobs.messages import counted

# Batch error codes that say "not now" rather than "not this input": a new attempt of the task
# (a new batch) can succeed once OpenAI's queue for the model has room again.
RETRYABLE_ERROR_CODES = frozenset({"token_limit_exceeded", "rate_limit_exceeded", "server_error"})


class Outcome(Enum):
    """Where a batch or a job stands, in the terms a workflow engine acts on (each Flyte face maps it
    to its own task phase)."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    # Failed for a reason that a new attempt (a new batch) may not meet: a capacity limit.
    RETRYABLE_FAILED = "retryable_failed"
    FAILED = "failed"


class PartStage(Enum):
    """Where one part of a job stands, and so what the job does with it next. The values are the
    names a console reads in a job's custom_info (its parts counted by stage)."""

    NOT_STARTED = "not_started"
    RUNNING = "running"
    # Its batch failed for OpenAI's enqueued token limit: submitted again after a wait...
    WAITING = "waiting"
    # ... which is over: to submit again now.
    READY = "ready"
    # Waiting for room in the job's own budget of enqueued tokens (`budget`).
    HELD = "held"
    DONE = "done"
    FAILED = "failed"


# The stages of a part that needs a batch now.
QUEUED = (PartStage.NOT_STARTED, PartStage.READY)


@dataclass(frozen=True)
class BatchOutcome:
    """What one batch status means, and the message people see for it."""

    outcome: Outcome
    message: str

    @property
    def succeeded(self) -> bool:
        return self.outcome is Outcome.SUCCEEDED


def batch_outcome(batch: Mapping[str, Any], accept_partial_results: bool = False) -> BatchOutcome:
    """Outcome and message for `batch`.

    A status this plugin does not know (the API may add some) reads as RUNNING with a message saying
    so: failing would abandon a batch that may still finish, and the task's own timeout still bounds
    the wait.
    """
    status = str(batch.get("status"))
    name = f"Batch {batch.get('id')}"
    counts = _counts(batch)
    files = _files(batch)
    if status in ACTIVE_STATUSES:
        return BatchOutcome(Outcome.RUNNING, f"{name} is {status}: {counts}.")
    if status == "completed":
        return BatchOutcome(Outcome.SUCCEEDED, f"{name} completed: {counts}{files}.")
    if status == "failed":
        codes = {e.get("code") for e in batch_errors(batch)}
        retryable = bool(codes) and codes <= RETRYABLE_ERROR_CODES
        outcome = Outcome.RETRYABLE_FAILED if retryable else Outcome.FAILED
        hint = " This is a capacity limit, so a retry (a new batch) may succeed." if retryable else ""
        return BatchOutcome(outcome, f"{name} failed: {batch_error_text(batch)}. {counts}{files}.{hint}")
    if status in PARTIAL_STATUSES:
        has_results = bool(batch.get("output_file_id") or batch.get("error_file_id"))
        if accept_partial_results and has_results:
            return BatchOutcome(
                Outcome.SUCCEEDED, f"{name} {status}; accepting its partial results: {counts}{files}."
            )
        errors = f" ({batch_error_text(batch)})" if batch_errors(batch) else ""
        hint = (
            " Set accept_partial_results=True on the task to succeed with them."
            if has_results
            else " It produced no result files."
        )
        return BatchOutcome(Outcome.FAILED, f"{name} {status}{errors}: {counts}{files}.{hint}")
    return BatchOutcome(
        Outcome.RUNNING,
        f"{name} has status {status!r}, which this plugin does not know; treating it as still running: {counts}.",
    )


def custom_info(batch: Mapping[str, Any]) -> dict[str, Any]:
    """What a console shows beside the outcome: request counts and the result files."""
    info: dict[str, Any] = {"batch_id": batch.get("id"), "status": batch.get("status")}
    counts = batch.get("request_counts")
    if isinstance(counts, Mapping):
        info["request_counts"] = {k: counts.get(k, 0) for k in ("total", "completed", "failed")}
    for key in ("output_file_id", "error_file_id"):
        if batch.get(key):
            info[key] = batch[key]
    return info


def _counts(batch: Mapping[str, Any]) -> str:
    counts = batch.get("request_counts")
    if not isinstance(counts, Mapping) or not counts.get("total"):
        # A batch that ended (failed validating, say) will never count any: say so, not "yet".
        return "no requests counted yet" if batch.get("status") in ACTIVE_STATUSES else "no requests were run"
    return (
        f"{counts.get('completed', 0)} of {counted(int(counts['total']), 'request')} completed, "
        f"{counts.get('failed', 0)} failed"
    )


def _files(batch: Mapping[str, Any]) -> str:
    parts = []
    if batch.get("output_file_id"):
        parts.append(f"completed requests are in output file {batch['output_file_id']}")
    if batch.get("error_file_id"):
        parts.append(f"failed requests are in error file {batch['error_file_id']}")
    return "; " + "; ".join(parts) if parts else ""
