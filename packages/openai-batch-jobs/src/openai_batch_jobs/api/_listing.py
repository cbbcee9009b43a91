"""One listing of the server's batches shared by the look-ups that ask for it at the same time.

Every CreateTask looks for the batches its owner already created, and every GetTask of a job lists its
job's batches: a burst of calls (a connector restarted on a busy cluster, a thousand jobs polled)
would each read the same pages. Here the look-ups of one client and one set of request options that
arrive while a listing runs wait for the next one, which starts as soon as the running one ends and
serves them all: each sees every batch created before it asked, and the server is read at most twice
at once per client instead of once per call.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

Pages = tuple[list[dict[str, Any]], bool]
Reader = Callable[[float], Awaitable[Pages]]


@dataclass
class _Round:
    """The look-ups waiting for one listing, back to the earliest `since` any of them asked for."""

    since: float
    result: asyncio.Future[Pages] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


# (client, request options) -> the round that has not started yet / the task of the one running.
_waiting: dict[tuple[int, str], _Round] = {}
_running: dict[tuple[int, str], asyncio.Task[None]] = {}


async def shared_listing(client: Any, options: dict[str, Any], since: float, read: Reader) -> Pages:
    """`read(since)`'s batches (newest first, back to at least `since`), from a listing that started
    after this call: joined with the other calls that wait for the same client and options."""
    key = (id(client), json.dumps({k: v for k, v in options.items() if k != "timeout"}, sort_keys=True))
    waiting = _waiting.get(key)
    if waiting is None:
        waiting = _waiting[key] = _Round(since)
        _running[key] = asyncio.ensure_future(_run(key, waiting, _running.get(key), read))
    waiting.since = min(waiting.since, since)
    # Shielded: a caller whose deadline passes leaves the listing to the others.
    return await asyncio.shield(waiting.result)


async def _run(key: tuple[int, str], round_: _Round, before: asyncio.Task[None] | None, read: Reader) -> None:
    if before is not None:
        await asyncio.wait([before])
    # From here on, new look-ups wait for the next round: this listing may miss what they expect.
    if _waiting.get(key) is round_:
        del _waiting[key]
    try:
        round_.result.set_result(await read(round_.since))
    except BaseException as exc:
        round_.result.set_exception(exc)
        round_.result.exception()  # retrieved: a round whose callers all left raises nowhere
    finally:
        if _running.get(key) is asyncio.current_task():
            del _running[key]
