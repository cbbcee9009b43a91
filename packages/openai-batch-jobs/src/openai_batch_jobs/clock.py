"""The clock and the id factory the engine and its faces read, so a caller can give them others.

A job's calls read the wall clock (which batches are the job's own), the monotonic clock (deadlines),
wait between tries and polls, and name a local run with a fresh id. They do so through `clock()` and
`new_id()` rather than `time`, `asyncio` and `uuid`, so that a cassette replay can run them on the
recording's wall clock, without the waits that only pace a live server, and with the ids the
recording saw: `using(clock=..., ids=...)` swaps them for the length of a ``with`` block.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol


class Clock(Protocol):
    """Time as the engine reads it."""

    def now(self) -> float:
        """The wall clock, in seconds since the epoch (what the server's ``created_at`` is on)."""
        ...

    def monotonic(self) -> float:
        """A clock that never goes back, for deadlines."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds``."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Wait ``seconds`` with the event loop left free."""
        ...


class SystemClock:
    """The machine's clocks and real waits."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()
_clock: Clock = SYSTEM_CLOCK
_ids: Callable[[], uuid.UUID] = uuid.uuid4


def clock() -> Clock:
    """The clock in use: the system's unless a `using` block gave another."""
    return _clock


def new_id() -> uuid.UUID:
    """A fresh id from the factory in use (random `uuid.uuid4` unless a `using` block gave another)."""
    return _ids()


@contextmanager
def using(clock: Clock | None = None, ids: Callable[[], uuid.UUID] | None = None) -> Iterator[None]:
    """Within the block, `clock()` and `new_id()` answer from ``clock`` and ``ids`` (None: unchanged).

    The setting is process-wide (every thread sees it), as the clock of a run is; blocks nest.
    """
    global _clock, _ids
    outer = _clock, _ids
    _clock, _ids = clock or _clock, ids or _ids
    try:
        yield
    finally:
        _clock, _ids = outer
