"""Ending a local run on SIGINT, SIGTERM or SIGHUP: clean up, say what was done, exit as shells expect.

`ending_on_signals` wraps a whole local run (a workflow, or one task run alone). While it runs, the
three signals raise `Interrupted` in the main thread (a `KeyboardInterrupt`, so that what cleans up
after Ctrl-C cleans up after the others too); each step's own cleanup runs as the exception passes
(uploads deleted, batches cancelled, answers downloaded so far kept), and records what it did in the
run's `RunRecord` (`note`). The run then ends with one message from that record and the status a
shell gives a process the signal killed: 128 + the signal's number (130, 143, 129).

A loop that checks `RunRecord.signum` itself (a local run's polling) marks itself `patient`: a signal
then only sets `signum`, and the loop raises `Interrupted` where it is safe to. Later signals are
ignored while the first one's cleanup runs: the first signal decides.

The run has a deadline after the signal (`CLEANUP_DEADLINE_S`, or
`OPENAI_BATCH_JOBS_CLEANUP_DEADLINE_S`): a cleanup stalled on a slow link, or on a lock the signal's
exception left taken in some library, or an exit that waits on a thread stuck the same way, must not
leave the terminal hanging. Past it, a watcher thread says what was done and where each thread
stood, and ends the process with the same status. The handler wakes the watcher through a pipe: a
signal handler that took a lock or started a thread could meet the very lock it interrupted.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from openai_batch_jobs.errors import BatchConfigError
from openai_batch_jobs.messages import counted
from openai_batch_jobs.settings import env_seconds

# SIGHUP does not exist on Windows.
SIGNALS = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None)

CLEANUP_DEADLINE_ENV = "OPENAI_BATCH_JOBS_CLEANUP_DEADLINE_S"
# Longer than a cancel's wait for the server (60 s) and a few deletes.
CLEANUP_DEADLINE_S = 120.0


class Interrupted(KeyboardInterrupt):
    """A signal ended the run; `exit_status` is what a shell reports for a process it killed."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


@dataclass
class Kept:
    """Answers the run downloaded and keeps: how many, and where."""

    answers: int
    path: str


@dataclass
class RunRecord:
    """What a local run did on the server and on disk, for the message a signal ends it with."""

    name: str
    phase: str = "start"
    signum: int | None = None
    patient: bool = False
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    kept: dict[str, Kept] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    ended: bool = False  # the run's body and cleanup are over, its message out
    wake: int | None = field(default=None, repr=False)  # the watcher's pipe: the first signal's number

    def message(self, signum: int) -> str:
        """One paragraph: the signal, the phase, then files, batches and answers."""
        # A stalled cleanup may hold the lock: the deadline's message does without it.
        locked = self.lock.acquire(timeout=1.0)
        try:
            uploaded = list(dict.fromkeys(self.uploaded))
            deleted = list(dict.fromkeys(self.deleted))
            kept = [k for k in self.kept.values() if k.answers]
            cancelled = list(dict.fromkeys(self.cancelled))
        finally:
            if locked:
                self.lock.release()
        text = [f"{signal_name(signum)}: stopped {self.name} during {self.phase}."]
        if uploaded:
            left = [f for f in uploaded if f not in deleted]
            done = len(uploaded) - len(left)
            text.append(
                f"Uploaded {counted(len(uploaded), 'request file')}, deleted "
                + ("all of them" if not left else f"{done} (left on the server: {', '.join(left)})")
                + " from the server."
            )
        else:
            text.append("Uploaded no request file.")
        others = [f for f in deleted if f not in uploaded]
        if others:
            text.append(f"Deleted its {counted(len(others), 'input file')} from the server.")
        text.append(_cancelled(cancelled))
        if kept:
            where = "; ".join(f"{counted(k.answers, 'answer')} in {k.path}" for k in kept)
            text.append(f"Answers downloaded so far, kept: {where}.")
        else:
            text.append("No answers were downloaded.")
        return " ".join(text + self.notes)


def _cancelled(ids: list[str]) -> str:
    if not ids:
        return "No OpenAI batch of this run was still running."
    return f"Cancelled OpenAI batch{'es' if len(ids) > 1 else ''} {', '.join(ids)}."


_current: RunRecord | None = None


def current() -> RunRecord | None:
    """The record of the local run under way in this process, if any."""
    return _current


def set_phase(phase: str) -> None:
    if _current is not None:
        _current.phase = phase


def note_uploaded(file_id: str) -> None:
    if _current is not None:
        with _current.lock:
            _current.uploaded.append(file_id)


def note_deleted(file_ids: list[str]) -> None:
    if _current is not None:
        with _current.lock:
            _current.deleted.extend(file_ids)


def note_cancelled(batch_ids: list[str]) -> None:
    if _current is not None:
        with _current.lock:
            _current.cancelled.extend(batch_ids)


def note_kept(key: str, answers: int, path: str) -> None:
    """Answers kept at `path`, under `key` (a later note of the same key replaces it)."""
    if _current is not None:
        with _current.lock:
            _current.kept[key] = Kept(answers, path)


def note(text: str) -> None:
    """A sentence the ending message adds (something left on the server, and why)."""
    if _current is not None:
        with _current.lock:
            _current.notes.append(text)


@contextmanager
def patience() -> Iterator[RunRecord | None]:
    """Mark a loop that checks `RunRecord.signum` itself (see the module's docstring)."""
    record = _current
    if record is None:
        yield None
        return
    record.patient = True
    try:
        yield record
    finally:
        record.patient = False


def check() -> None:
    """Raise `Interrupted` if a signal came while the run was patient."""
    if _current is not None and _current.signum is not None:
        raise Interrupted(_current.signum)


def _handler(signum: int, frame: FrameType | None) -> None:
    record = _current
    if record is None or record.signum is not None:
        return  # the first signal's cleanup is running
    record.signum = signum
    if record.wake is not None:
        os.write(record.wake, bytes([signum]))
    if not record.patient:
        raise Interrupted(signum)


def cleanup_deadline() -> float:
    """`OPENAI_BATCH_JOBS_CLEANUP_DEADLINE_S` (seconds), else `CLEANUP_DEADLINE_S`."""
    return env_seconds(CLEANUP_DEADLINE_ENV, CLEANUP_DEADLINE_S, BatchConfigError)


def _watch(record: RunRecord, read_end: int, deadline: float) -> None:
    """The deadline of the cleanup after the first signal (see the module's docstring)."""
    try:
        woken = os.read(read_end, 1)
    finally:
        os.close(read_end)
    if not woken:
        return  # the run ended without a signal
    time.sleep(deadline)
    if record.ended and threading.main_thread().is_alive():
        return  # the run ended in time, and what called it goes on (it caught the SystemExit)
    # The cleanup still runs, or the interpreter's exit waits on a thread that does not end.
    signum = woken[0]
    text = [] if record.ended else [record.message(signum)]
    text.append(
        f"{signal_name(signum)}: the run did not end within {deadline:g} s of the signal "
        f"({CLEANUP_DEADLINE_ENV}); exiting without waiting longer: a transfer or a cancel still under "
        "way may leave its file or batch on the server. Where each thread stood:"
    )
    print("\n".join(text), file=sys.stderr, flush=True)
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    os._exit(128 + signum)


@contextmanager
def ending_on_signals(name: str) -> Iterator[RunRecord | None]:
    """Run the body as a local run that SIGINT, SIGTERM and SIGHUP end (see the module's docstring).

    Nested runs (a workflow's tasks) share the outermost one's record and message; off the main
    thread, where Python delivers no signal, the body runs as it is.
    """
    global _current
    if _current is not None or threading.current_thread() is not threading.main_thread():
        yield _current
        return
    deadline = cleanup_deadline()
    read_end, write_end = os.pipe()
    record = _current = RunRecord(name, wake=write_end)
    # A daemon: the process may end while it waits out the deadline (the cleanup ended in time).
    threading.Thread(
        target=_watch, args=(record, read_end, deadline), name="cleanup-deadline", daemon=True
    ).start()
    previous = {s: signal.signal(s, _handler) for s in SIGNALS}
    try:
        yield record
    except Interrupted as exc:
        print(record.message(exc.signum), file=sys.stderr, flush=True)
        raise SystemExit(exc.exit_status) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _current = None
        record.ended, record.wake = True, None
        os.close(write_end)  # without a signal, the watcher reads the end of the pipe and returns
