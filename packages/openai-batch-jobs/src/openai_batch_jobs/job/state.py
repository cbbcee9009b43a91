"""Where a job stands, from its batches as the server lists them: the rules of a job of many parts.

A job is a plain description (`Job`: the key its batches are tagged with, the parts' input files,
when it began, its settings); `job_state` is a pure function of it, the batches (dicts, as the API
returns them) and the time, so that every rule (which part to submit, when a part waits for room in
OpenAI's queue, what fails the job) is in one place and reads the same after a restart. What a batch's
status means is `status.batch_outcome`'s to say; this module adds only what is a job's own: parts,
in flight, token-limit waits.

The job's `result` (a dict) is built here too:

- ``batches``: per part, in part order, the newest batch of the part (the API's batch dict); a part
  that never ran has ``{"input_file_id": ..., "status": "not_started"}``.
- ``parts``: the number of parts; ``parts_done``: parts with results (completed, or expired /
  cancelled with results when partial results are accepted or a later round sends the unanswered
  requests again, `JobTaskSettings.resend_unanswered`); ``failed_parts``: indices (from 0) into
  ``batches`` of the parts that failed (only with ``accept_partial_results``, else the job fails).
- ``request_counts``: ``total``, ``completed`` and ``failed`` summed over the parts' batches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openai_batch_jobs.api.batch_api import PARTIAL_STATUSES, batch_error_text, batch_errors, job_counts
from openai_batch_jobs.job.budget import BudgetView, hold_parts
from openai_batch_jobs.job.settings import JobTaskSettings
from openai_batch_jobs.job.status import QUEUED, Outcome, PartStage, batch_outcome
from openai_batch_jobs.messages import counted

# The batch metadata key naming the part (its index from 0) a batch belongs to.
PART_METADATA_KEY = "flyte_job_part"
TOKEN_LIMIT_CODE = "token_limit_exceeded"
# The status of the stand-in batch of a part that never ran, in a job's result.
NOT_STARTED = PartStage.NOT_STARTED.value
# What would have kept a job going whose batch expired or was cancelled.
KEEP_GOING_HINT = (
    "accept_partial_results=True would have kept the job going: its answers collected, its "
    "unanswered requests sent again (create_batch's max_request_attempts, above 1)."
)


@dataclass
class Job:
    """One job: the key its batches carry, its parts (input file ids, in order), its settings."""

    key: str
    input_file_ids: list[str]
    # Epoch seconds no later than the creation of the job's first batch: its batches are listed back to here.
    created_at: float
    settings: JobTaskSettings
    # Each part's enqueued-token bound and model, read from its file's name when the job has a budget.
    part_tokens: list[tuple[int, str | None]] | None = None

    @property
    def done_at_create(self) -> bool:
        """A job without parts (a later round with nothing to send again) has finished when created."""
        return not self.input_file_ids


@dataclass
class PartState:
    """One part: its batches (newest first) and what the job does with it next."""

    index: int
    input_file_id: str
    batches: list[dict[str, Any]] = field(default_factory=list)
    state: PartStage = PartStage.NOT_STARTED
    note: str = ""
    outcome: Outcome = Outcome.RUNNING

    @property
    def newest(self) -> dict[str, Any] | None:
        return self.batches[0] if self.batches else None

    @property
    def label(self) -> str:
        return f"part {self.index + 1} ({self.input_file_id})"


@dataclass
class JobState:
    parts: list[PartState]
    outcome: Outcome
    message: str
    # What the budget of enqueued tokens did at this look (custom_info), when the job has one.
    budget: dict[str, Any] | None = None

    @property
    def to_submit(self) -> list[PartState]:
        """Parts that need a batch now, in part order."""
        return [p for p in self.parts if p.state in QUEUED]

    @property
    def in_flight(self) -> int:
        return sum(p.state is PartStage.RUNNING for p in self.parts)

    @property
    def failed(self) -> bool:
        return self.outcome in (Outcome.FAILED, Outcome.RETRYABLE_FAILED)

    def result(self) -> dict[str, Any]:
        return {
            "batches": [
                p.newest or {"input_file_id": p.input_file_id, "status": NOT_STARTED} for p in self.parts
            ],
            "parts": len(self.parts),
            "parts_done": sum(p.state is PartStage.DONE for p in self.parts),
            "failed_parts": [p.index for p in self.parts if p.state is PartStage.FAILED],
            "request_counts": request_counts(self.parts),
        }

    def custom_info(self) -> dict[str, Any]:
        """What a console shows beside the outcome: parts by state, the requests' counts, and the
        job's counts (`batch_api.job_counts`: parts, parts_done, requests, requests_completed,
        requests_failed), the same names the collect step's summary uses."""
        states: dict[str, int] = {}
        for part in self.parts:
            states[part.state.value] = states.get(part.state.value, 0) + 1
        return {
            "parts": {"total": len(self.parts), **states},
            "request_counts": request_counts(self.parts),
            "counts": job_counts(_newest_batches(self.parts)),
            "batch_ids": [p.newest["id"] if p.newest else None for p in self.parts],
            **(self.budget or {}),
            # What a job that ends without every request answered keeps (`results.kept_answers`).
            "output_file_ids": [(p.newest or {}).get("output_file_id") for p in self.parts],
        }


def part_of(batch: Mapping[str, Any], parts: int) -> int | None:
    """The part index a job's batch is tagged with (None if the tag is not one of this job's parts)."""
    value = (batch.get("metadata") or {}).get(PART_METADATA_KEY)
    if isinstance(value, str) and value.isdigit() and int(value) < parts:
        return int(value)
    return None


def job_state(job: Job, batches: Sequence[Mapping[str, Any]], now: float) -> JobState:
    """The job's outcome and message from its batches (tagged with its key, newest first) at epoch `now`."""
    settings = job.settings
    parts = [PartState(i, file_id) for i, file_id in enumerate(job.input_file_ids)]
    for batch in batches:
        index = part_of(batch, len(parts))
        if index is not None and batch.get("input_file_id") == parts[index].input_file_id:
            parts[index].batches.append(dict(batch))
    for part in parts:
        _judge(part, settings, now)
    view: BudgetView | None = None
    if settings.max_enqueued_tokens and job.part_tokens is not None:
        view = hold_parts(parts, settings.max_enqueued_tokens, job.part_tokens)
    state = _job_outcome(parts, settings)
    state.budget = view.custom_info(settings.max_enqueued_tokens) if view is not None else None
    return state


def _job_outcome(parts: list[PartState], settings: JobTaskSettings) -> JobState:
    failed = [p for p in parts if p.state is PartStage.FAILED]
    progress = progress_text(parts)
    if failed and not settings.accept_partial_results:
        retryable = all(p.outcome is Outcome.RETRYABLE_FAILED for p in failed)
        hint = (
            f" {KEEP_GOING_HINT}"
            if any(p.newest and p.newest.get("status") in PARTIAL_STATUSES for p in failed)
            else " Set accept_partial_results=True on the task to keep the other parts' results."
            if len(parts) > 1
            else ""
        )
        return JobState(
            parts,
            Outcome.RETRYABLE_FAILED if retryable else Outcome.FAILED,
            f"Job failed: {_reasons(failed)}. {progress}.{hint}",
        )
    if any(p.state not in (PartStage.DONE, PartStage.FAILED) for p in parts):
        waiting = (PartStage.WAITING, PartStage.READY, PartStage.HELD)
        waits = "; ".join(f"{p.label} {p.note}" for p in parts if p.state in waiting and p.note)
        return JobState(parts, Outcome.RUNNING, f"Job running: {progress}." + (f" {waits}." if waits else ""))
    if failed and len(failed) == len(parts):
        return JobState(
            parts, Outcome.FAILED, f"Job failed: every part failed: {_reasons(failed)}. {progress}."
        )
    tail = "; ".join(f"{p.label} failed: {p.note}" for p in failed)
    return JobState(
        parts,
        Outcome.SUCCEEDED,
        f"Job done: {progress}."
        + (f" Kept the other parts' results; {tail}." if tail else "")
        + _unanswered_note(parts, settings),
    )


def _unanswered_note(parts: Sequence[PartState], settings: JobTaskSettings) -> str:
    """What becomes of the unanswered requests of the parts whose batch expired or was cancelled."""
    partial = [
        p for p in parts if p.state is PartStage.DONE and (p.newest or {}).get("status") in PARTIAL_STATUSES
    ]
    if not partial:
        return ""
    where = (
        "their unanswered requests: the collect step sends them again in the next round (or, after the last attempt, lists them "
        "in the error file)"
        if settings.resend_unanswered
        else "their unanswered requests are not sent again (accept_partial_results)"
    )
    labels = ", ".join(f"{p.label} ({(p.newest or {}).get('status')})" for p in partial)
    return f" Done with partial results: {labels}; {where}."


def _reasons(failed: Sequence[PartState]) -> str:
    return "; ".join(f"{p.label}: {p.note}" for p in failed).rstrip(".")


def _judge(part: PartState, settings: JobTaskSettings, now: float) -> None:
    """The part's state from its newest batch: `batch_outcome`'s reading, and the waits for room in
    OpenAI's queue of a part whose batch failed for the enqueued token limit."""
    batch = part.newest
    if batch is None:
        return
    name = f"batch {batch.get('id')}"
    part.outcome = batch_outcome(batch, settings.keeps_partial_batches).outcome
    if part.outcome is Outcome.RUNNING:
        part.state = PartStage.RUNNING
    elif part.outcome is Outcome.SUCCEEDED:
        part.state = PartStage.DONE
    elif batch.get("status") == "failed" and _token_limited(batch):
        _wait_for_room(part, batch, settings, now)
    elif batch.get("status") == "failed":
        part.state = PartStage.FAILED
        part.note = f"{name} failed: {batch_error_text(batch)}"
    else:
        has_results = bool(batch.get("output_file_id") or batch.get("error_file_id"))
        part.state = PartStage.FAILED
        part.note = f"{name} {batch.get('status')}" + ("" if has_results else " with no result files")
        if batch.get("output_file_id"):
            counts = batch.get("request_counts") or {}
            part.note += (
                f" with {counts.get('completed', 0)} of {counted(int(counts.get('total', 0)), 'request')} "
                f"answered (output file {batch['output_file_id']})"
            )


def _wait_for_room(part: PartState, batch: Mapping[str, Any], settings: JobTaskSettings, now: float) -> None:
    wait_s, attempts = settings.token_limit_wait_s, settings.token_limit_attempts
    tries = sum(1 for b in part.batches if b.get("status") == "failed" and _token_limited(b))
    if tries >= attempts:
        part.state = PartStage.FAILED
        part.note = (
            f"batch {batch.get('id')} failed: {batch_error_text(batch)}; OpenAI's queue had no room in "
            f"{counted(tries, 'attempt')} ({wait_s:.0f} s apart)"
        )
        return
    since = float(batch.get("failed_at") or batch.get("created_at") or now)
    left = since + wait_s - now
    part.state = PartStage.READY if left <= 0 else PartStage.WAITING
    when = "now" if left <= 0 else f"in {left:.0f} s"
    part.note = (
        f"hit OpenAI's enqueued token limit ({TOKEN_LIMIT_CODE}); submitting again {when} "
        f"(attempt {tries + 1} of {attempts}, {wait_s:.0f} s apart)"
    )


def _token_limited(batch: Mapping[str, Any]) -> bool:
    return any(e.get("code") == TOKEN_LIMIT_CODE for e in batch_errors(batch))


def request_counts(parts: Sequence[PartState]) -> dict[str, int]:
    """``total``, ``completed`` and ``failed`` requests, summed over the parts' newest batches."""
    counts = job_counts(_newest_batches(parts))
    return {
        "total": counts["requests"],
        "completed": counts["requests_completed"],
        "failed": counts["requests_failed"],
    }


def _newest_batches(parts: Sequence[PartState]) -> list[Mapping[str, Any]]:
    """Each part's newest batch; a part that never ran as ``{"status": "not_started"}``."""
    return [p.newest or {"status": NOT_STARTED} for p in parts]


def progress_text(parts: Sequence[PartState]) -> str:
    """``2 of 3 parts done, 1 running; 150 of 300 requests completed, 2 failed`` (short, one line)."""
    done = sum(p.state is PartStage.DONE for p in parts)
    states = []
    for state in (PartStage.RUNNING, PartStage.WAITING, PartStage.HELD, PartStage.FAILED):
        count = sum(p.state is state for p in parts)
        if count:
            states.append(f"{count} {state.value}")
    queued = sum(p.state in QUEUED for p in parts)
    if queued:
        states.append(f"{queued} queued")
    counts = request_counts(parts)
    uncounted = sum(1 for p in parts if not ((p.newest or {}).get("request_counts") or {}).get("total"))
    requests = (
        f"{counts['completed']} of {counted(counts['total'], 'request')} completed, {counts['failed']} failed"
    )
    if uncounted:
        requests += f" ({counted(uncounted, 'part')} not counted yet)"
    return (
        f"{done} of {counted(len(parts), 'part')} done"
        + (", " + ", ".join(states) if states else "")
        + f"; {requests}"
    )
