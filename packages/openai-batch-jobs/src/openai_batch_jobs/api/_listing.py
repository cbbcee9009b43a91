"""One listing of the server's batches shared by the look-ups that ask for it at the same time.

Every CreateTask looks for the batches its owner already created, and every GetTask of a job lists its
job's batches: a burst of calls (a connector restarted on a busy cluster, a thousand jobs polled)
would each read the same pages. Here the look-ups of one client and one set of request options that
arrive while a listing runs wait for the next one, which starts as soon as the running one ends and
serves them all: each sees every batch created before it asked, and the server is read at most twice
at once per client instead of once per call.

The latest listing of each client and set of options is kept, its batches indexed by owner and by
id (`recent`, `recent_batch`): a poll that only reports (where a job stands, a batch's status) may
read it when it is young enough, so that a thousand tasks polled share one listing every few seconds
instead of a request each; acting on the server (submitting a part, failing a job) always takes a
listing that started after the call. `list_soon` starts a shared listing without waiting for it.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from openai_batch_jobs.api.batch_config import EXECUTION_METADATA_KEY
from openai_batch_jobs.clock import clock

Pages = tuple[list[dict[str, Any]], bool]
Reader = Callable[[float], Awaitable[Pages]]


@dataclass
class _Round:
    """The look-ups waiting for one listing, back to the earliest `since` any of them asked for."""

    since: float
    result: asyncio.Future[Pages] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass
class _Listed:
    """A listing: when it started (monotonic), how far back it reached (its `since` when it was
    complete, else its oldest batch's creation), its batches by owner and by id."""

    started: float
    reached: float
    by_owner: dict[str, list[dict[str, Any]]]
    by_id: dict[str, dict[str, Any]]


# A listing reaches at least as far back as the latest one did when that started at most this long
# ago: polls that each need a different depth share one listing rather than take turns replacing it.
KEEP_DEPTH_S = 10.0

# (client, request options) -> the round that has not started yet / the task of the one running.
_waiting: dict[tuple[int, str], _Round] = {}
_running: dict[tuple[int, str], asyncio.Task[None]] = {}
# client -> request options -> its latest listing; dropped with the client.
_latest: weakref.WeakKeyDictionary[Any, dict[str, _Listed]] = weakref.WeakKeyDictionary()
# The listings `list_soon` started, kept until they end.
_background: set[asyncio.Future[Pages]] = set()


def _options_key(options: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in options.items() if k != "timeout"}, sort_keys=True)


def _latest_listing(client: Any, options: dict[str, Any], max_age_s: float) -> _Listed | None:
    listed = _latest.get(client, {}).get(_options_key(options))
    return listed if listed is not None and clock().monotonic() - listed.started <= max_age_s else None


def recent(
    client: Any, options: dict[str, Any], owner: str, since: float, max_age_s: float
) -> list[dict[str, Any]] | None:
    """The batches tagged with `owner` (newest first) in the latest listing, when it started at most
    `max_age_s` ago and reached back to `since`; None when there is no such listing."""
    listed = _latest_listing(client, options, max_age_s)
    if listed is None or listed.reached > since:
        return None
    return listed.by_owner.get(owner, [])


def recent_batch(
    client: Any, options: dict[str, Any], batch_id: str, max_age_s: float
) -> dict[str, Any] | None:
    """The batch `batch_id` as the latest listing saw it, when that started at most `max_age_s` ago
    and holds it; None otherwise."""
    listed = _latest_listing(client, options, max_age_s)
    return listed.by_id.get(batch_id) if listed is not None else None


def list_soon(client: Any, options: dict[str, Any], since: float, read: Reader) -> None:
    """Start a shared listing back to `since` (or join the one waiting to start), waiting for nothing."""
    listing = asyncio.ensure_future(shared_listing(client, options, since, read))
    _background.add(listing)
    listing.add_done_callback(_ended)


def _ended(listing: asyncio.Future[Pages]) -> None:
    _background.discard(listing)
    # Its failure is the next caller's to meet; retrieved here so that it is not reported as lost.
    if not listing.cancelled():
        listing.exception()


async def shared_listing(client: Any, options: dict[str, Any], since: float, read: Reader) -> Pages:
    """`read(since)`'s batches (newest first, back to at least `since`), from a listing that started
    after this call: joined with the other calls that wait for the same client and options."""
    key = (id(client), _options_key(options))
    kept = _latest_listing(client, options, KEEP_DEPTH_S)
    if kept is not None:
        # As deep as the latest: the polls it served (jobs, batches of any age) read the next one.
        since = min(since, kept.reached)
    waiting = _waiting.get(key)
    if waiting is None:
        waiting = _waiting[key] = _Round(since)
        _running[key] = asyncio.ensure_future(_run(key, waiting, _running.get(key), read, client))
    waiting.since = min(waiting.since, since)
    # Shielded: a caller whose deadline passes leaves the listing to the others.
    return await asyncio.shield(waiting.result)


async def _run(
    key: tuple[int, str], round_: _Round, before: asyncio.Task[None] | None, read: Reader, client: Any
) -> None:
    if before is not None:
        await asyncio.wait([before])
    # From here on, new look-ups wait for the next round: this listing may miss what they expect.
    if _waiting.get(key) is round_:
        del _waiting[key]
    started = clock().monotonic()
    try:
        pages = await read(round_.since)
        round_.result.set_result(pages)
        _keep(client, key[1], _listed(started, round_.since, pages))
    except BaseException as exc:
        round_.result.set_exception(exc)
        round_.result.exception()  # retrieved: a round whose callers all left raises nowhere
    finally:
        if _running.get(key) is asyncio.current_task():
            del _running[key]


def _keep(client: Any, options_key: str, listed: _Listed) -> None:
    """Keep `listed` as the client's latest listing, unless a later one is kept already."""
    kept = _latest.setdefault(client, {})
    if options_key not in kept or kept[options_key].started < listed.started:
        kept[options_key] = listed


def _listed(started: float, since: float, pages: Pages) -> _Listed:
    batches, complete = pages
    reached = since if complete or not batches else float(batches[-1].get("created_at") or clock().now())
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for batch in batches:
        owner = (batch.get("metadata") or {}).get(EXECUTION_METADATA_KEY)
        if isinstance(owner, str):
            by_owner.setdefault(owner, []).append(batch)
    return _Listed(started, reached, by_owner, {str(b.get("id")): b for b in batches})
