"""Running a job of many parts on the Batch API: the calls behind a job connector's CreateTask,
GetTask and DeleteTask, with no workflow engine's types.

`start` reads the parts' estimates from their files' names when the job has a budget or a cost cap
(`part_estimates`: ``max_cost_usd`` refuses the job there, before any batch), then starts the first
parts' batches (or finds those a repeated call already created); `poll` lists the job's batches
back, submits the parts that have none while fewer than `max_in_flight` run (and, with
`max_enqueued_tokens`, while their model's running batches stay within its budget, `budget`),
submits again a part whose batch failed for OpenAI's enqueued token limit after a bounded wait, and
reports the job (`JobReport`); `cancel` cancels every batch of the job still running. A job that
fails for good (not RETRYABLE_FAILED: the task is retried with the same input files) or is aborted
has its input files deleted from the server (`delete_input_files`, best effort, said in the
message). All state is on the server or in the `Job`, so a repeated start creates no second batch
for a part and a restarted connector carries on. Every call is bounded by a deadline a connector
call can keep.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from openai_batch_jobs.api.batch_api import ACTIVE_STATUSES
from openai_batch_jobs.api.batch_config import EXECUTION_METADATA_KEY
from openai_batch_jobs.api.batches import (
    LOOKBACK_S,
    Cancelled,
    FaultGrace,
    api_error,
    cancel_batch,
    create_batch,
    listing_age_limit,
    owned_batches,
    recent_owned_batches,
)
from openai_batch_jobs.api.retry import (
    CANCEL,
    CREATE,
    Deadline,
    DeadlinePassed,
    acall_with_retries,
    is_transient,
)
from openai_batch_jobs.clock import clock
from openai_batch_jobs.errors import BatchAPIError, BatchConfigError
from openai_batch_jobs.files.delete import delete_files_async
from openai_batch_jobs.job.part_estimates import check_job_cost, needs_estimates, read_estimates
from openai_batch_jobs.job.settings import JobTaskSettings
from openai_batch_jobs.job.state import PART_METADATA_KEY, Job, JobState, PartState, job_state
from openai_batch_jobs.job.status import Outcome, PartStage
from openai_batch_jobs.messages import counted

logger = logging.getLogger("openai_batch_jobs")

# A poll's own deadline: a connector call's is a few seconds; a poll that runs out submits the rest next time.
POLL_DEADLINE_S = 5.0
# The job's created_at is put this much before its first batch: the server's clock is not ours.
CLOCK_MARGIN_S = 300.0
# A failed job whose input files could not all be deleted within one poll (its deadline, a
# transient fault) answers RUNNING and tries again, at most this many more polls.
CLEANUP_POLLS = 5


@dataclass
class JobReport:
    """What one poll found: the job's outcome, its message, what a console shows beside it, and on
    success its `result` (see `state`)."""

    outcome: Outcome
    message: str
    custom_info: dict[str, Any] | None = None
    result: dict[str, Any] | None = None


class JobRunner:
    """The job calls of one connector process; remembers only what rides out faults between polls."""

    def __init__(self, grace: FaultGrace) -> None:
        self.grace = grace
        # Job key -> polls spent so far on deleting a failed job's input files.
        self._cleanup_polls: dict[str, int] = {}

    async def start(self, client: Any, job: Job, api_key: str, since: float | None = None) -> Job:
        """Create the first parts' batches, or find those a repeated call already created; `job` with
        its `created_at` set to how far back its batches are to be listed. `since` (epoch seconds):
        look back to then rather than LOOKBACK_S (a local run re-attaching to a killed run's batches)."""
        job.created_at = clock().now() - CLOCK_MARGIN_S
        lookback = LOOKBACK_S if since is None else max(LOOKBACK_S, clock().now() - since + CLOCK_MARGIN_S)
        if job.done_at_create:  # a later round with nothing to send again: nothing to create
            return job

        async def attempt(deadline: Deadline) -> Job:
            if needs_estimates(job.settings) and job.part_tokens is None:
                estimates = await read_estimates(client, job.key, job.input_file_ids, job.settings, deadline)
                check_job_cost(job.settings, estimates)
                if job.settings.max_enqueued_tokens:
                    job.part_tokens = [(e.bound, e.model) for e in estimates]
            # Also for a fresh local key: a retry of this call must find what the first try created.
            config = job.settings.batch_config()
            found, complete = await owned_batches(client, config, job.key, clock().now() - lookback, deadline)
            if not complete:
                # Cannot tell which parts have batches: the polls list back as far and start them.
                logger.info(
                    f"Job {job.key}: listing did not reach {lookback:.0f} s back; starting parts later"
                )
                job.created_at = clock().now() - lookback
                return job
            if found:
                logger.info(
                    f"Job {job.key} already has {len(found)} batches; starting only the missing parts"
                )
                job.created_at = min(float(b["created_at"]) for b in found) - CLOCK_MARGIN_S
            state = job_state(job, found, clock().now())
            await self._guarded(self._submit(client, job, state, deadline), job.key)
            return job

        try:
            return await acall_with_retries(attempt, CREATE, action=f"Starting job {job.key}")
        except DeadlinePassed:
            raise BatchAPIError(
                f"Starting job {job.key} took longer than {CREATE.deadline_s:.0f} s; a repeated call "
                "finds the batches already created."
            ) from None
        except (BatchAPIError, BatchConfigError):
            raise
        except Exception as exc:
            raise api_error(f"Starting job {job.key}", exc, api_key) from None

    async def poll(self, client: Any, job: Job, api_key: str) -> JobReport:
        """Where the job stands, after submitting what may run now; RUNNING through transient faults
        (within the grace), and when the deadline cut the listing short."""
        if job.done_at_create:  # a later round with nothing to send again: done at once
            state = job_state(job, [], clock().now())
            message = "Job done: no input files (nothing left to send again)."
            return JobReport(state.outcome, message, state.custom_info(), state.result())
        try:
            report = await self._poll(client, job, api_key, Deadline(POLL_DEADLINE_S))
        except DeadlinePassed:
            return JobReport(
                Outcome.RUNNING,
                f"Listing the batches of job {job.key} took longer than {POLL_DEADLINE_S:.0f} s; "
                "asking again at the next poll.",
            )
        except BatchAPIError:
            raise
        except Exception as exc:
            if not is_transient(exc):
                raise api_error(f"Reading the batches of job {job.key}", exc, api_key) from None
            message = self.grace.message(job.key, f"Reading the batches of job {job.key}", exc, api_key)
            outage = self.grace.outage(job.key, exc)
            return JobReport(Outcome.RUNNING, f"Job running, {outage}: {message}", {"outage": outage})
        self.grace.clear(job.key)
        return report

    async def _poll(self, client: Any, job: Job, api_key: str, deadline: Deadline) -> JobReport:
        recent = _recent_state(client, job)
        if recent is not None:
            return JobReport(Outcome.RUNNING, recent.message, recent.custom_info())
        settings = job.settings
        listed, complete = await owned_batches(
            client, settings.batch_config(), job.key, job.created_at, deadline
        )
        state = job_state(job, listed, clock().now())
        submit = complete and state.outcome is Outcome.RUNNING
        if submit and await self._guarded(self._submit(client, job, state, deadline), job.key):
            state = job_state(job, [b for p in state.parts for b in p.batches], clock().now())
        if state.failed:
            # Nothing would stop the other parts' batches once the job has failed.
            state.message += await _stop_the_rest(client, state, api_key)
        if state.outcome is Outcome.FAILED and settings.delete_input_files:
            # Failed for good: nothing will use the input files again.
            unfinished = await self._clean_up(client, job, state, deadline, api_key)
            if unfinished is not None:
                return unfinished
        elif state.outcome is Outcome.RETRYABLE_FAILED and settings.delete_input_files:
            state.message += " Kept the input files: the task's retry sends them again."
        result = state.result() if state.outcome is Outcome.SUCCEEDED else None
        return JobReport(state.outcome, state.message, state.custom_info(), result)

    async def _submit(self, client: Any, job: Job, state: JobState, deadline: Deadline) -> int:
        """Create batches for the parts that need one, while fewer than max_in_flight run and time is left.

        Returns how many were created; each new batch is added to its part in `state`.
        """
        room = job.settings.max_in_flight - state.in_flight
        config = job.settings.batch_config()
        created = 0
        for part in state.to_submit[: max(room, 0)]:
            tags = {EXECUTION_METADATA_KEY: job.key, PART_METADATA_KEY: str(part.index)}
            try:
                batch = await create_batch(client, config, part.input_file_id, tags, deadline)
            except DeadlinePassed:
                break
            part.batches.insert(0, batch)
            part.state = PartStage.RUNNING
            created += 1
        return created

    async def _clean_up(
        self, client: Any, job: Job, state: JobState, deadline: Deadline, api_key: str
    ) -> JobReport | None:
        """Delete a failed job's input files within this poll's deadline and add what became of them
        to the message; a RUNNING report (ask again) when time or a transient fault cut it short."""
        deletion = await delete_files_async(client, job.input_file_ids, api_key=api_key, deadline=deadline)
        polls = self._cleanup_polls.get(job.key, 0)
        if deletion.retryable and polls < CLEANUP_POLLS:
            self._cleanup_polls[job.key] = polls + 1
            return JobReport(
                Outcome.RUNNING,
                f"{state.message} Deleting its input files: "
                f"{counted(len(deletion.retryable), 'file')} left, trying again at the next poll.",
                state.custom_info(),
            )
        self._cleanup_polls.pop(job.key, None)
        logger.info(f"Job {job.key} failed; {deletion.text() or 'no input files to delete'}")
        state.message += f" {deletion.text()}" if deletion.text() else ""
        return None

    async def _guarded(self, submit: Awaitable[int], key: str) -> int:
        """Submitting is best effort within a poll: a refused or lost create is tried at the next poll."""
        try:
            return await submit
        except Exception as exc:
            if not is_transient(exc) and not _queue_full(exc):
                raise
            logger.info(
                f"Job {key}: could not submit a part now ({type(exc).__name__}); trying at the next poll"
            )
            return 0

    async def cancel(self, client: Any, job: Job, api_key: str) -> Cancelled:
        """Cancel every running batch of the job, then delete its input files (with
        `delete_input_files`, within CANCEL's deadline). Says which batches it cancelled and what
        became of the files."""
        if job.done_at_create:  # a later round with nothing to send again: nothing runs
            return Cancelled([])
        deadline = Deadline(CANCEL.deadline_s)
        try:
            listed, _ = await owned_batches(
                client, job.settings.batch_config(), job.key, job.created_at, deadline
            )
        except Exception as exc:
            raise api_error(f"Listing the batches of job {job.key}", exc, api_key) from None
        state = job_state(job, listed, clock().now())
        try:
            cancelled = await _cancel_all(client, state.parts, api_key)
        finally:
            # Also when a cancel failed: the batch keeps its input (on OpenAI as in the emulator).
            note = await discard_inputs(client, job.settings, job.input_file_ids, api_key, deadline)
            if job.settings.delete_input_files:
                logger.info(f"Job {job.key} aborted; {note or 'no input files to delete'}")
        return Cancelled(cancelled, note)


async def discard_inputs(
    client: Any,
    settings: JobTaskSettings,
    file_ids: list[str],
    api_key: str,
    deadline: Deadline | None = None,
) -> str:
    """Delete the input files of a job that will not run (with `delete_input_files`), best effort within
    CANCEL's deadline; what it did, for a message."""
    if not settings.delete_input_files or not file_ids:
        return ""
    deadline = deadline or Deadline(CANCEL.deadline_s)
    return (await delete_files_async(client, file_ids, api_key=api_key, deadline=deadline)).text()


def _recent_state(client: Any, job: Job) -> JobState | None:
    """The job's state from the connector's latest listing when that is recent enough and shows the
    job running with no part to submit; None when the poll must list afresh (to act on what it sees:
    submit a part, fail or finish the job)."""
    now = clock().now()
    max_age = listing_age_limit(now - job.created_at - CLOCK_MARGIN_S)
    if max_age <= 0:
        return None
    config = job.settings.batch_config()
    listed = recent_owned_batches(client, config, job.key, job.created_at, max_age)
    if listed is None:
        return None
    state = job_state(job, listed, now)
    if state.outcome is not Outcome.RUNNING or (
        state.to_submit and state.in_flight < job.settings.max_in_flight
    ):
        return None
    return state


async def _cancel_all(client: Any, parts: list[PartState], api_key: str) -> list[str]:
    """Cancel the running batch of every part, side by side; returns the ids of those cancelled, or
    raises the first failure after trying all."""
    running = [p.newest["id"] for p in parts if p.newest and p.newest.get("status") in ACTIVE_STATUSES]
    running = [b for b in running if b]
    results = await asyncio.gather(
        *(cancel_batch(client, batch_id, api_key) for batch_id in running), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [batch_id for batch_id, result in zip(running, results, strict=True) if result]


async def _stop_the_rest(client: Any, state: JobState, api_key: str) -> str:
    """Cancel the running batches of a failed job; what the message adds (a failed cancel does not
    hide why the job failed)."""
    try:
        cancelled = await _cancel_all(client, state.parts, api_key)
    except Exception as exc:
        return f" Could not cancel the job's other batches: {exc}"
    return f" Cancelled the job's running batches: {', '.join(cancelled)}." if cancelled else ""


def _queue_full(exc: BaseException) -> bool:
    """A create refused because OpenAI's queue for the model is full (rather than failed later)."""
    body = getattr(exc, "body", None)
    code = body.get("code") if isinstance(body, dict) else getattr(exc, "code", None)
    return code == "token_limit_exceeded"
