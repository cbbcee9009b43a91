"""The one way a test waits for something: ask until it holds, for a bounded time.

A loaded machine (two suites at once on two cores) makes everything slower, never different: a wait
is on an event (a predicate that becomes true, a `threading.Condition` that is notified), its bound
only catches a hang, and its timeout names what was awaited and the last answer seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

# The bound of a wait that only catches a hang: generous, so a loaded machine never reaches it.
WAIT_S = 120.0
FIRST_PAUSE_S = 0.02
MAX_PAUSE_S = 0.25


def wait_until(
    predicate: Callable[[], T],
    *,
    what: str,
    timeout: float = WAIT_S,
    until: Callable[[T], Any] | None = None,
    changed: threading.Condition | None = None,
) -> T:
    """Call ``predicate`` until its value is truthy (or ``until(value)`` is), then return the value.

    Between calls it pauses briefly, then longer (up to MAX_PAUSE_S), or, given ``changed``, waits
    for it to be notified (``predicate`` then runs holding its lock). After ``timeout`` seconds it
    raises AssertionError naming ``what`` and the last value; exceptions of ``predicate`` (a process
    that ended early) end the wait at once.
    """
    done = until or bool
    end = time.monotonic() + timeout
    pause = FIRST_PAUSE_S
    with changed if changed is not None else contextlib.nullcontext():
        while not done(value := predicate()):
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(timed_out(what, timeout, value))
            if changed is not None:
                changed.wait(min(left, MAX_PAUSE_S))
            else:
                time.sleep(min(left, pause))
                pause = min(pause * 2, MAX_PAUSE_S)
    return value


async def wait_until_async(
    predicate: Callable[[], Awaitable[T]],
    *,
    what: str,
    timeout: float = WAIT_S,
    until: Callable[[T], Any] | None = None,
) -> T:
    """`wait_until` of a coroutine, for tests on an event loop: the pauses leave the loop free."""
    done = until or bool
    end = time.monotonic() + timeout
    pause = FIRST_PAUSE_S
    while not done(value := await predicate()):
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError(timed_out(what, timeout, value))
        await asyncio.sleep(min(left, pause))
        pause = min(pause * 2, MAX_PAUSE_S)
    return value


def timed_out(what: str, timeout: float, last: object) -> str:
    shown = repr(last)
    return f"timed out after {timeout:g} s waiting for {what}; last value: {shown[:500]}"


def while_running(
    process: subprocess.Popen[Any], predicate: Callable[[], T], output: Callable[[], str] | None = None
) -> Callable[[], T]:
    """``predicate`` for `wait_until`, failing at once when it is still false and ``process`` has
    exited (with ``output()``, else what the process wrote to its pipes)."""

    def check() -> T:
        value = predicate()
        if not value and process.poll() is not None:
            shown = output() if output is not None else process.communicate()
            raise AssertionError(f"the process exited ({process.returncode}) first:\n{shown}")
        return value

    return check
