"""A local run's leftovers: the batches it started and the files it uploaded, cancelled and deleted when
the run is interrupted (Ctrl-C, SIGTERM), which Flyte 2's own local runner does not do.

`flyte.run` runs tasks on an event loop in another thread, which a signal never reaches, so the
cleanup runs at interpreter exit (`atexit`, after Ctrl-C's KeyboardInterrupt has ended `flyte.run`),
and SIGTERM is turned into that same KeyboardInterrupt while nothing else handles it.

A task's start (its batches created on the server) may be under way on that loop when the signal
comes: the cleanup waits for it (`starting`, at most `START_WAIT_S`), so that what it started is
known, and cancelled, too.
"""

from __future__ import annotations

import atexit
import itertools
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# How long an interrupted run's exit waits for the starts under way (a create's few requests).
START_WAIT_S = 30.0

_lock = threading.Lock()
_pending: dict[int, Callable[[], str]] = {}
_starting: set[threading.Event] = set()
_installed = False
_handles = itertools.count()


def watch_signals() -> None:
    """From the main thread: SIGTERM ends the run as Ctrl-C does (if no one else handles it), and the
    exit handler is registered. Elsewhere (another thread) only the exit handler is."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    atexit.register(clean_up)
    main = threading.current_thread() is threading.main_thread()
    if main and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def pending(undo: Callable[[], str]) -> int:
    """Remember what to undo if the run is interrupted (it returns what it did); a handle for `done`."""
    watch_signals()
    with _lock:
        handle = next(_handles)
        _pending[handle] = undo
        return handle


def done(handle: int) -> None:
    with _lock:
        _pending.pop(handle, None)


@contextmanager
def starting() -> Iterator[None]:
    """A start under way: the body creates what `pending` then remembers (see the module's docstring)."""
    watch_signals()
    ended = threading.Event()
    with _lock:
        _starting.add(ended)
    try:
        yield
    finally:
        ended.set()
        with _lock:
            _starting.discard(ended)


def clean_up() -> None:
    """Undo everything still pending (newest first: batches before their input files), saying what."""
    until = time.monotonic() + START_WAIT_S
    with _lock:
        starts = list(_starting)
    if starts:
        print(
            f"Waiting up to {START_WAIT_S:g} s for the {len(starts)} batch start(s) under way, to cancel "
            "what they create.",
            file=sys.stderr,
            flush=True,
        )
    for ended in starts:
        ended.wait(max(0.0, until - time.monotonic()))
    with _lock:
        undos = list(_pending.items())[::-1]
        _pending.clear()
    for _, undo in undos:
        try:
            said = undo()
        except Exception as exc:
            said = f"Could not clean up after the interrupted run: {exc}"
        if said:
            print(said, file=sys.stderr, flush=True)
