"""The forwarding server's side of the batch engine: one event loop thread running a job per batch.

The engine keeps its own rules (states, locks, saving, expiry, cancel); for a forwarded batch in
`in_progress` or `cancelling` it calls `advance` here instead of answering on a schedule. The job's
answers become the record's counts; a finished job moves the batch to `finalizing`; a cancel or the end
of the completion window stops the job before the batch is finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..batches.jsonl import ERRORS, write_expired
from ._job import ForwardJob, Shared
from ._progress import Progress, scan
from .options import ForwardOptions

if TYPE_CHECKING:
    from ..batches.record import BatchRecord

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long a stopping job may take to drop its requests in flight (it only cancels tasks).
STOP_TIMEOUT_SECONDS = 30.0
# Seconds between two saves of a running batch's counts: a stop loses nothing (the files are the
# truth and are read back), but readers of the record on disk see recent counts.
SAVE_SECONDS = 1.0


class Forwarder:
    """Runs the jobs of the forwarded batches on an event loop in a thread of its own."""

    def __init__(self, options: ForwardOptions) -> None:
        self.options = options
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._shared: Shared | None = None
        self._jobs: dict[str, tuple[ForwardJob, asyncio.Task[None]]] = {}
        self._saved: dict[str, float] = {}

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="batch-forwarder", daemon=True)
        self._thread.start()
        self._loop = loop
        self._shared = self._call(self._make_shared())

    async def _make_shared(self) -> Shared:
        return Shared(self.options)  # its semaphore belongs to this loop

    def stop(self) -> None:
        """Drop every job (requests in flight are sent again after a restart) and end the loop."""
        if self._loop is None or self._thread is None:
            return
        for batch_id in list(self._jobs):
            self.stop_job(batch_id)
        if self._shared is not None:
            self._shared.upstream.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(STOP_TIMEOUT_SECONDS)
        self._loop.close()
        self._loop = self._thread = self._shared = None

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the loop and wait for its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(STOP_TIMEOUT_SECONDS)

    def job(self, record: BatchRecord, work: Path) -> ForwardJob:
        """The running job of a batch, started (resuming from its files) if there is none."""
        running = self._jobs.get(record.id)
        if running is not None and running[1].done():
            job, task = running
            if task.cancelled() or task.exception() is not None:
                problem = "was cancelled" if task.cancelled() else f"failed: {task.exception()!r}"
                log.error("forwarding batch %s %s; resuming it", record.id, problem)
            elif job.finished_at is None or _answered_count(job.progress()) < record.total:
                log.error("forwarding batch %s left requests unanswered; resuming it", record.id)
            else:
                return job
            running = None
        if running is None:
            assert self._shared is not None
            job = ForwardJob(record.id, record.endpoint, work, self._shared)
            running = (job, self._call(_spawn(job)))
            self._jobs[record.id] = running
        return running[0]

    def stop_job(self, batch_id: str) -> ForwardJob | None:
        """Stop sending a batch's requests and drop its answers in flight; returns once nothing more
        can be written, with the stopped job."""
        running = self._jobs.pop(batch_id, None)
        self._saved.pop(batch_id, None)
        if running is None:
            return None
        if self._loop is not None:
            self._call(_cancel(running[1]))
        return running[0]

    def has_job(self, batch_id: str) -> bool:
        return batch_id in self._jobs

    def due_to_save(self, batch_id: str) -> bool:
        now = time.monotonic()
        if now - self._saved.get(batch_id, 0.0) < SAVE_SECONDS:
            return False
        self._saved[batch_id] = now
        return True


async def _spawn(job: ForwardJob) -> asyncio.Task[None]:
    return asyncio.ensure_future(job.run())


async def _cancel(task: asyncio.Task[None]) -> None:
    """Cancel `task` and wait until its cleanup has run: only then can no answer be written."""
    task.cancel()
    with contextlib.suppress(BaseException):
        await task


def _answered_count(progress: Progress) -> int:
    return progress.completed + progress.failed


def copy_progress(record: BatchRecord, progress: Progress) -> None:
    record.completed_count = progress.completed
    record.failed_count = progress.failed
    record.processed = _answered_count(progress)
    record.input_tokens = progress.input_tokens
    record.output_tokens = progress.output_tokens
    record.output_bytes = progress.output_bytes
    record.error_bytes = progress.error_bytes


def recover(record: BatchRecord, work: Path) -> None:
    """After a restart, a forwarded batch's counts are what its result files hold."""
    if work.exists():
        copy_progress(record, scan(work))


def advance(
    record: BatchRecord,
    now: float,
    forwarder: Forwarder | None,
    work: Path,
    finish: Callable[[BatchRecord, str, float], None],
    save: Callable[[BatchRecord], None],
) -> bool:
    """One step of a forwarded batch in `in_progress` or `cancelling`; whether its status changed.

    A server started without forwarding holds such a batch (it has nobody to ask) until a cancel or
    the end of its window.
    """
    running = record.status == "in_progress" and forwarder is not None
    if running and forwarder is not None and (now < record.expires or forwarder.has_job(record.id)):
        moved = _run(record, now, forwarder, work, save)
        if moved is not None:
            return moved
    stopped = forwarder.stop_job(record.id) if forwarder is not None else None
    if stopped is not None:
        copy_progress(record, stopped.progress())
    if record.status == "cancelling":
        assert record.cancelling is not None
        cancelled = record.cancelling + record.knobs.cancelling_seconds
        if cancelled > now:
            return False
        copy_progress(record, scan(work))
        finish(record, "cancelled", cancelled)
        return True
    if now < record.expires:
        return False
    answered = scan(work)
    copy_progress(record, answered)
    expired = write_expired(record.id, work, answered=answered.answered)
    record.failed_count += expired
    record.processed += expired
    record.error_bytes = (work / ERRORS).stat().st_size
    finish(record, "expired", record.expires)
    return True


def _run(
    record: BatchRecord, now: float, forwarder: Forwarder, work: Path, save: Callable[[BatchRecord], None]
) -> bool | None:
    """Keep the batch's job going and its counts current; None when its window is over (and the job
    has not finished everything by then), so it is to be stopped."""
    job = forwarder.job(record, work)
    copy_progress(record, job.progress())
    if job.finished_at is not None and record.processed >= record.total:
        forwarder.stop_job(record.id)
        record.status = "finalizing"
        record.finalizing = min(job.finished_at, now)
        save(record)
        return True
    if now >= record.expires:
        return None
    if forwarder.due_to_save(record.id):
        save(record)
    return False
