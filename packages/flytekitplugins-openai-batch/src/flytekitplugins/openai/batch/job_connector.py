"""The async connector of `openai-batch-job` tasks: one connector task owns all the batches of a job.

A job is a list of input files (the parts of one large input). CreateTask starts the first parts'
batches, GetTask lists the job's batches back from the server (each is tagged with the job's key and
its part), submits the parts that have none while fewer than `max_in_flight` run, submits again a part
whose batch failed for OpenAI's enqueued token limit after a bounded wait, and reports parts and
requests done; DeleteTask cancels every batch of the job still running. A job that fails for good
(not RETRYABLE_FAILED: Flyte retries the task with the same input files) or is aborted has its input
files deleted from the server (`delete_input_files`, best effort, said in the message); a
successful job's are deleted by the collect step once its results are safe. All state is on the server
or in the resource meta, so a repeated CreateTask creates no second batch for a part and a restarted
connector carries on. Local runs go through the same calls (flytekit's local executor calls create,
then get in a loop), so the parts run at the same time there too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

from flyteidl.core.execution_pb2 import TaskExecution
from flytekit import FlyteContextManager, logger
from flytekit.core.type_engine import TypeEngine
from flytekit.models.literals import LiteralMap
from flytekit.models.task import TaskExecutionMetadata, TaskTemplate

from flytekitplugins.openai.core.keys import connector_api_key, connector_base_url
from openai_batch_jobs.api.batch_api import ACTIVE_STATUSES
from openai_batch_jobs.api.batch_config import EXECUTION_METADATA_KEY
from openai_batch_jobs.api.batches import (
    Cancelled,
    api_error,
    cancel_batch,
    client_for,
    create_batch,
    recent_batches,
    tagged,
)
from openai_batch_jobs.api.retry import (
    CANCEL,
    CREATE,
    POLL,
    POLL_FAULT_GRACE_S,
    Deadline,
    DeadlinePassed,
    call_with_retries,
    is_transient,
)
from openai_batch_jobs.api.server_files import delete_files
from openai_batch_jobs.errors import BatchAPIError
from openai_batch_jobs.words import counted

from ._compat import Resource, register_once
from .execution import execution_key
from .job_meta import BatchJobMetadata
from .job_settings import JOB_TASK_TYPE, JobTaskSettings
from .job_state import PART_METADATA_KEY, JobState, PartState, job_state
from .threaded import ThreadedConnector

T = TypeVar("T")

# How far back CreateTask looks for the batches of a job it already started (propeller repeats
# within minutes), and how many pages of batches a call may read.
LOOKBACK_S = 3 * 3600.0
MAX_LIST_PAGES = 20
# GetTask's own deadline: propeller's is a few seconds; a call that runs out submits the rest next time.
GET_DEADLINE_S = 5.0
# The job's created_at is put this much before its first batch: the server's clock is not ours.
CLOCK_MARGIN_S = 300.0
# Cancels of one DeleteTask run side by side, this many at once.
CANCEL_THREADS = 8
# A failed job whose input files could not all be deleted within one GetTask (its deadline, a
# transient fault) answers RUNNING and tries again, at most this many more polls.
CLEANUP_POLLS = 5


class BatchJobConnector(ThreadedConnector[BatchJobMetadata]):
    """Runs BatchJobTask: the batches of a job's parts on OpenAI's Batch API (or a compatible server)."""

    name = "OpenAI Batch Job Connector"

    def __init__(self, fault_grace_s: float = POLL_FAULT_GRACE_S) -> None:
        super().__init__(JOB_TASK_TYPE, BatchJobMetadata, fault_grace_s)
        # Job key -> polls spent so far on deleting a failed job's input files.
        self._cleanup_polls: dict[str, int] = {}

    def _create(
        self,
        task_template: TaskTemplate,
        inputs: LiteralMap | None,
        task_execution_metadata: TaskExecutionMetadata | None,
    ) -> BatchJobMetadata:
        task_name = task_template.id.name or None
        settings = JobTaskSettings.from_custom(task_template.custom, task_name)
        settings.check(task_name)
        settings = replace(settings, base_url=connector_base_url(settings.base_url))
        file_ids = _input_file_ids(inputs)
        # Local runs have no execution id: a fresh key names this run's batches.
        key = execution_key(task_execution_metadata) or f"local/{uuid.uuid4().hex}"
        api_key = connector_api_key()
        meta = BatchJobMetadata(key, file_ids, time.time() - CLOCK_MARGIN_S, settings)
        if meta.done_at_create:  # a retry round with nothing to send again: nothing to create
            return meta
        lock = self.create_lock(key)

        def start(deadline: Deadline) -> BatchJobMetadata:
            # Also for a fresh local key: a retry of this call must find what the first try created.
            listed, complete = recent_batches(
                client, settings.batch_config(), time.time() - LOOKBACK_S, deadline, MAX_LIST_PAGES
            )
            found = list(tagged(listed, EXECUTION_METADATA_KEY, key))
            if not complete:
                # Cannot tell which parts have batches: GetTask lists back as far and starts them.
                logger.info(f"Job {key}: listing did not reach {LOOKBACK_S:.0f} s back; starting parts later")
                meta.created_at = time.time() - LOOKBACK_S
                return meta
            if found:
                logger.info(f"Job {key} already has {len(found)} batches; starting only the missing parts")
                meta.created_at = min(float(b["created_at"]) for b in found) - CLOCK_MARGIN_S
            state = job_state(meta, found, time.time())
            self._guarded(lambda: self._submit(client, meta, state, deadline, api_key), key)
            return meta

        with client_for(api_key, settings.openai_organization, settings.base_url, CREATE) as client, lock:
            try:
                return call_with_retries(start, CREATE, action=f"Starting job {key}")
            except DeadlinePassed:
                raise BatchAPIError(
                    f"Starting job {key} took longer than {CREATE.deadline_s:.0f} s; a repeated CreateTask "
                    "call finds the batches already created."
                ) from None
            except BatchAPIError:
                raise
            except Exception as exc:
                raise api_error(f"Starting job {key}", exc, api_key) from None

    def _submit(
        self, client: Any, meta: BatchJobMetadata, state: JobState, deadline: Deadline, api_key: str
    ) -> int:
        """Create batches for the parts that need one, while fewer than max_in_flight run and time is left.

        Returns how many were created; each new batch is added to its part in `state`.
        """
        room = meta.settings.max_in_flight - state.in_flight
        config = meta.settings.batch_config()
        created = 0
        for part in state.to_submit[: max(room, 0)]:
            tags = {EXECUTION_METADATA_KEY: meta.key, PART_METADATA_KEY: str(part.index)}
            try:
                batch = create_batch(client, config, part.input_file_id, tags, deadline)
            except DeadlinePassed:
                break
            part.batches.insert(0, batch)
            part.state = "running"
            created += 1
        return created

    def poll(self, resource_meta: BatchJobMetadata) -> Resource:
        """`get` without an event loop."""
        meta = resource_meta
        if meta.done_at_create:  # a retry round with nothing to send again: done at once
            state = job_state(meta, [], time.time())
            return Resource(
                phase=state.phase,
                message="Job done: no input files (nothing left to send again).",
                outputs=_result_literals(state.result()),
                custom_info=state.custom_info(),
            )
        api_key = connector_api_key()
        deadline = Deadline(GET_DEADLINE_S)
        settings = meta.settings
        try:
            with client_for(api_key, settings.openai_organization, settings.base_url, POLL) as client:
                listed, complete = recent_batches(
                    client, settings.batch_config(), meta.created_at, deadline, MAX_LIST_PAGES
                )
                state = job_state(meta, list(tagged(listed, EXECUTION_METADATA_KEY, meta.key)), time.time())
                submit = complete and state.phase == TaskExecution.RUNNING
                if submit and self._guarded(
                    lambda: self._submit(client, meta, state, deadline, api_key), meta.key
                ):
                    state = job_state(meta, [b for p in state.parts for b in p.batches], time.time())
                if state.phase in (TaskExecution.FAILED, TaskExecution.RETRYABLE_FAILED):
                    # Nothing would stop the other parts' batches once the job has failed.
                    state.message += _stop_the_rest(client, state, api_key)
                if state.phase == TaskExecution.FAILED and settings.delete_input_files:
                    # Failed for good: nothing will use the input files again.
                    unfinished = self._clean_up(client, meta, state, deadline, api_key)
                    if unfinished is not None:
                        return unfinished
                elif state.phase == TaskExecution.RETRYABLE_FAILED and settings.delete_input_files:
                    state.message += " Kept the input files: Flyte retries the task with them."
        except DeadlinePassed:
            return Resource(
                phase=TaskExecution.RUNNING,
                message=f"Listing the batches of job {meta.key} took longer than {GET_DEADLINE_S:.0f} s; "
                "asking again at the next poll.",
            )
        except BatchAPIError:
            raise
        except Exception as exc:
            if not is_transient(exc):
                raise api_error(f"Reading the batches of job {meta.key}", exc, api_key) from None
            message = self.grace.message(meta.key, f"Reading the batches of job {meta.key}", exc, api_key)
            return Resource(phase=TaskExecution.RUNNING, message=message)
        self.grace.clear(meta.key)
        outputs = _result_literals(state.result()) if state.phase == TaskExecution.SUCCEEDED else None
        return Resource(
            phase=state.phase, message=state.message, outputs=outputs, custom_info=state.custom_info()
        )

    def _clean_up(
        self, client: Any, meta: BatchJobMetadata, state: JobState, deadline: Deadline, api_key: str
    ) -> Resource | None:
        """Delete a failed job's input files within this GetTask's deadline and add what became of them
        to the message; a RUNNING resource (ask again) when time or a transient fault cut it short."""
        deletion = delete_files(client, meta.input_file_ids, api_key=api_key, deadline=deadline)
        polls = self._cleanup_polls.get(meta.key, 0)
        if deletion.retryable and polls < CLEANUP_POLLS:
            self._cleanup_polls[meta.key] = polls + 1
            return Resource(
                phase=TaskExecution.RUNNING,
                message=f"{state.message} Deleting its input files: "
                f"{counted(len(deletion.retryable), 'file')} left, trying again at the next poll.",
                custom_info=state.custom_info(),
            )
        self._cleanup_polls.pop(meta.key, None)
        logger.info(f"Job {meta.key} failed; {deletion.text() or 'no input files to delete'}")
        state.message += f" {deletion.text()}" if deletion.text() else ""
        return None

    def _guarded(self, submit: Callable[[], int], key: str) -> int:
        """Submitting is best effort within a poll: a refused or lost create is tried at the next poll."""
        try:
            return submit()
        except Exception as exc:
            if not is_transient(exc) and not _queue_full(exc):
                raise
            logger.info(
                f"Job {key}: could not submit a part now ({type(exc).__name__}); trying at the next poll"
            )
            return 0

    def cancel(self, resource_meta: BatchJobMetadata) -> Cancelled:
        """Cancel every running batch of the job, then delete its input files (with
        `delete_input_files`, within DeleteTask's deadline); `delete` without an event loop, for local
        runs' signal handlers. Says which batches it cancelled and what became of the files."""
        meta = resource_meta
        if meta.done_at_create:  # a retry round with nothing to send again: nothing runs
            return Cancelled([])
        api_key = connector_api_key()
        settings = meta.settings
        deadline = Deadline(CANCEL.deadline_s)
        with client_for(api_key, settings.openai_organization, settings.base_url, CANCEL) as client:
            try:
                listed, _ = recent_batches(
                    client, settings.batch_config(), meta.created_at, deadline, MAX_LIST_PAGES
                )
            except Exception as exc:
                raise api_error(f"Listing the batches of job {meta.key}", exc, api_key) from None
            state = job_state(meta, list(tagged(listed, EXECUTION_METADATA_KEY, meta.key)), time.time())
            try:
                cancelled = _cancel_all(client, state.parts, api_key)
            finally:
                # Also when a cancel failed: the batch keeps its input (on OpenAI as in the emulator).
                note = ""
                if settings.delete_input_files:
                    note = delete_files(
                        client, meta.input_file_ids, api_key=api_key, deadline=deadline
                    ).text()
                    logger.info(f"Job {meta.key} aborted; {note or 'no input files to delete'}")
            return Cancelled(cancelled, note)

    def discard_inputs(self, settings: JobTaskSettings, file_ids: list[str]) -> str:
        """Delete the input files of a local run whose CreateTask failed (with `delete_input_files`):
        nothing retries a local run, and without a resource meta no GetTask will. Best effort, within
        DeleteTask's deadline; returns what it did, for the error's message."""
        if not settings.delete_input_files or not file_ids:
            return ""
        try:
            api_key = connector_api_key()
            base_url = connector_base_url(settings.base_url)
        except Exception:
            return ""  # the create failed for this reason already; it is the error the user sees
        with client_for(api_key, settings.openai_organization, base_url, CANCEL) as client:
            return delete_files(
                client, file_ids, api_key=api_key, deadline=Deadline(CANCEL.deadline_s)
            ).text()


def _cancel_all(client: Any, parts: list[PartState], api_key: str) -> list[str]:
    """Cancel the running batch of every part, side by side; returns the ids of those cancelled, or
    raises the first failure after trying all."""
    running = [p.newest["id"] for p in parts if p.newest and p.newest.get("status") in ACTIVE_STATUSES]
    running = [b for b in running if b]
    if not running:
        return []
    with ThreadPoolExecutor(min(CANCEL_THREADS, len(running))) as pool:
        futures = [pool.submit(cancel_batch, client, batch_id, api_key) for batch_id in running]
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error
    return [batch_id for batch_id, future in zip(running, futures, strict=True) if future.result()]


def _stop_the_rest(client: Any, state: JobState, api_key: str) -> str:
    """Cancel the running batches of a failed job; what the message adds (a failed cancel does not
    hide why the job failed)."""
    try:
        cancelled = _cancel_all(client, state.parts, api_key)
    except Exception as exc:
        return f" Could not cancel the job's other batches: {exc}"
    return f" Cancelled the job's running batches: {', '.join(cancelled)}." if cancelled else ""


def _queue_full(exc: BaseException) -> bool:
    """A create refused because OpenAI's queue for the model is full (rather than failed later)."""
    body = getattr(exc, "body", None)
    code = body.get("code") if isinstance(body, dict) else getattr(exc, "code", None)
    return code == "token_limit_exceeded"


def _input_file_ids(inputs: LiteralMap | None) -> list[str]:
    literal = inputs.literals.get("input_file_ids") if inputs is not None else None
    collection = getattr(literal, "collection", None)
    if literal is None or collection is None:
        raise ValueError(
            "The openai-batch-job task needs its input input_file_ids (the ids of the uploaded JSONL parts)."
        )
    ids: list[str] = []
    for item in getattr(collection, "literals", None) or []:
        primitive = getattr(getattr(item, "scalar", None), "primitive", None)
        value = getattr(primitive, "string_value", None)
        if not isinstance(value, str) or not value:
            raise ValueError(
                "The openai-batch-job task's input_file_ids must be a list of file ids (strings)."
            )
        ids.append(value)
    return ids


def _result_literals(result: dict[str, Any]) -> LiteralMap:
    ctx = FlyteContextManager.current_context()
    return TypeEngine.dict_to_literal_map(ctx, {"result": result}, {"result": dict})


BatchJobAgent = BatchJobConnector

register_once(BatchJobConnector, JOB_TASK_TYPE)
