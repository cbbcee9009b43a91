"""Per-batch building blocks shared by the batch connector (one batch) and the job connector (many).

Creating a batch tagged with the Flyte execution that owns it, finding the batches an owner already
created (when propeller repeats a call), polling one (from the connector's latest listing when many
are polled, `poll_batch`), cancelling one, riding out transient faults while polling,
and turning SDK errors into key-free messages: each is written once here, so both connectors behave
the same way. The calls are coroutines on the SDK's async client (`client.shared_async_client`): a
connector serves many tasks from one event loop, with no thread per call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from openai_batch_jobs.api import _listing
from openai_batch_jobs.api._sdk import openai
from openai_batch_jobs.api.batch_api import TERMINAL_STATUSES
from openai_batch_jobs.api.batch_config import EXECUTION_METADATA_KEY, BatchConfig
from openai_batch_jobs.api.retry import (
    CANCEL,
    CREATE,
    POLL_FAULT_GRACE_S,
    Deadline,
    DeadlinePassed,
    acall_with_retries,
    describe_failure,
    is_transient,
)
from openai_batch_jobs.clock import clock
from openai_batch_jobs.errors import BatchAPIError

logger = logging.getLogger("openai_batch_jobs")


# A run of faults not seen again for this long belongs to a batch propeller stopped polling.
FORGET_FAULTS_AFTER_S = 3600.0
# Batches listed per page (the API's largest page).
LIST_PAGE_SIZE = 100
# How far back a repeated CreateTask looks for what its first call created (propeller repeats within
# minutes), and how many pages of batches one look may read.
LOOKBACK_S = 3 * 3600.0
MAX_LIST_PAGES = 20
# A poll that only reports may read the connector's latest listing when it started at most this long
# ago: a thousand tasks polled share a listing every few seconds. A job's poll, at most this share of
# the job's age ago too: a short job (a local run, which lists at every poll) still sees its end
# within about a tenth of its run time.
RECENT_LISTING_S = 5.0
RECENT_LISTING_SHARE = 0.1
# A batch's poll reads a listing only once this many polls within RECENT_LISTING_S had to retrieve
# their batch (then it starts one): a service polling many batches, never a local run.
RETRIEVES_PER_LISTING = 50
# client -> (when the count began, monotonic; retrieves since; the oldest of their batches' creation)
_retrieved: weakref.WeakKeyDictionary[Any, tuple[float, int, float]] = weakref.WeakKeyDictionary()


def request_options(config: BatchConfig, deadline: Deadline) -> dict[str, Any]:
    """The SDK's per-call options of a connector's requests: the task's headers and query parameters,
    and its timeout within what is left of the deadline."""
    left = deadline.remaining()
    timeout = min(left, config.timeout) if config.timeout and left is not None else (config.timeout or left)
    options: dict[str, Any] = {"timeout": timeout}
    if config.extra_headers:
        options["extra_headers"] = config.extra_headers
    if config.extra_query:
        options["extra_query"] = config.extra_query
    return options


async def create_batch(
    client: Any, config: BatchConfig, input_file_id: str, tags: Mapping[str, str], deadline: Deadline
) -> dict[str, Any]:
    """Create one batch of `input_file_id`, its metadata the task's own plus `tags`; the batch as a dict."""
    metadata = {**config.metadata, **tags}
    extra: dict[str, Any] = {}
    if metadata:
        extra["metadata"] = metadata
    if config.body_extras():
        extra["extra_body"] = config.body_extras()
    batch = await client.batches.create(
        completion_window=config.completion_window,
        endpoint=config.endpoint,
        input_file_id=input_file_id,
        **request_options(config, deadline),
        **extra,
    )
    logger.info(f"Created OpenAI batch {batch.id} for input file {input_file_id}")
    result: dict[str, Any] = batch.to_dict(mode="json")
    return result


async def poll_batch(client: Any, batch_id: str, timeout: float | None) -> dict[str, Any]:
    """The batch `batch_id` as a dict, for a poll that only reports it: as the connector's latest
    listing saw it when that started at most RECENT_LISTING_S ago, else retrieved. Once
    RETRIEVES_PER_LISTING polls within RECENT_LISTING_S had to retrieve their batch, a shared listing
    starts: many batches polled are read a page at a time."""
    seen = _listing.recent_batch(client, {}, batch_id, RECENT_LISTING_S)
    if seen is not None:
        return seen
    retrieved: dict[str, Any] = (await client.batches.retrieve(batch_id, timeout=timeout)).to_dict(
        mode="json"
    )
    now = clock().monotonic()
    began, count, oldest = _retrieved.get(client) or (now, 0, clock().now())
    if now - began > RECENT_LISTING_S:
        began, count, oldest = now, 0, clock().now()
    oldest = min(oldest, float(retrieved.get("created_at") or oldest))
    _retrieved[client] = (began, count + 1, oldest)
    if count + 1 >= RETRIEVES_PER_LISTING:
        del _retrieved[client]
        _listing.list_soon(client, {}, oldest, _reader(client, {}))
    return retrieved


def listing_age_limit(age_s: float) -> float:
    """How old a listing a job's poll that only reports may read, for a job `age_s` seconds old."""
    return min(RECENT_LISTING_S, RECENT_LISTING_SHARE * age_s)


def _reader(client: Any, options: dict[str, Any]) -> _listing.Reader:
    """How a shared listing reads the server's pages, within CREATE's deadline."""

    async def read(back_to: float) -> tuple[list[dict[str, Any]], bool]:
        return await _list_pages(client, options, back_to, Deadline(CREATE.deadline_s))

    return read


async def owned_batches(
    client: Any, config: BatchConfig, key: str, since: float, deadline: Deadline
) -> tuple[list[dict[str, Any]], bool]:
    """The batches tagged with the owner `key`, created at or after `since` (epoch seconds), newest first.

    The listing is shared with the look-ups that run at the same time (`_listing`) and reads at most
    MAX_LIST_PAGES pages, within the deadline. The flag says whether it reached `since` (or the end):
    when it did not, a batch not found may exist.
    """
    options = request_options(config, deadline)
    try:
        batches, complete = await asyncio.wait_for(
            _listing.shared_listing(client, options, since, _reader(client, options)), deadline.remaining()
        )
    except asyncio.TimeoutError:
        raise DeadlinePassed from None
    return [b for b in tagged(batches, key) if b.get("created_at", 0) >= since], complete


def recent_owned_batches(
    client: Any, config: BatchConfig, key: str, since: float, max_age_s: float
) -> list[dict[str, Any]] | None:
    """`owned_batches` as the latest listing saw them, when it started at most `max_age_s` ago and
    reached back to `since`; None when there is none. For a look that acts on nothing it
    sees: a batch created since the listing started is missing from it."""
    batches = _listing.recent(client, request_options(config, Deadline(None)), key, since, max_age_s)
    return None if batches is None else [b for b in batches if b.get("created_at", 0) >= since]


async def _list_pages(
    client: Any, options: dict[str, Any], since: float, deadline: Deadline
) -> tuple[list[dict[str, Any]], bool]:
    """The server's batches created at or after `since`, newest first, and whether the pages reached it.

    Pages are read as the JSON they are: building the SDK's models of every batch on the server to
    keep a few would cost a connector most of its CPU.
    """
    found: list[dict[str, Any]] = []
    after: dict[str, str] = {}
    for _ in range(MAX_LIST_PAGES):
        response = await client.batches.with_raw_response.list(
            limit=LIST_PAGE_SIZE, **{**options, "timeout": deadline.remaining()}, **after
        )
        page = json.loads(response.content)
        data: list[dict[str, Any]] = page.get("data") or []
        recent = [b for b in data if b.get("created_at", 0) >= since]
        found.extend(recent)
        if len(recent) < len(data) or not data or not page.get("has_more"):
            return found, True
        after = {"after": str(data[-1]["id"])}
    return found, False


def tagged(batches: list[dict[str, Any]], key: str) -> Iterator[dict[str, Any]]:
    """The batches whose metadata names `key` as their owner."""
    return (b for b in batches if (b.get("metadata") or {}).get(EXECUTION_METADATA_KEY) == key)


async def find_or_create(
    client: Any, config: BatchConfig, input_file_id: str, key: str | None, api_key: str
) -> str:
    """Id of the batch of `input_file_id` that the owner `key` created, else of a new one tagged with
    `key`; under the CREATE policy. Without a key (a local run) nothing is looked up."""

    async def attempt(deadline: Deadline) -> str:
        if key:
            batches, _ = await owned_batches(client, config, key, clock().now() - LOOKBACK_S, deadline)
            for batch in batches:
                if batch.get("input_file_id") == input_file_id:
                    logger.info(f"Batch {batch['id']} already exists for {key}; not creating another")
                    return str(batch["id"])
        tags = {EXECUTION_METADATA_KEY: key} if key else {}
        return str((await create_batch(client, config, input_file_id, tags, deadline))["id"])

    try:
        return await acall_with_retries(
            attempt, CREATE, action=f"Creating a batch for input file {input_file_id}"
        )
    except DeadlinePassed:
        raise BatchAPIError(
            f"Creating the batch for input file {input_file_id} took longer than {CREATE.deadline_s:.0f} s; "
            "a repeated CreateTask call finds the batch if it was created."
        ) from None
    except Exception as exc:
        raise api_error(f"Creating a batch for input file {input_file_id}", exc, api_key) from None


async def cancel_batch(client: Any, batch_id: str, api_key: str) -> bool:
    """Cancel under the CANCEL policy; a batch that is already cancelling, finished or gone is fine.

    Returns whether this call cancelled it (False: there was nothing left to cancel).
    """

    async def cancel(deadline: Deadline) -> None:
        await client.batches.cancel(batch_id, timeout=_request_timeout(deadline))

    try:
        await acall_with_retries(
            cancel,
            CANCEL,
            action=f"Cancelling batch {batch_id}",
            retry_if=lambda e: is_transient(e) and not _nothing_to_cancel(e),
        )
        logger.info(f"Cancelling OpenAI batch {batch_id}")
        return True
    except Exception as exc:
        if not _nothing_to_cancel(exc):
            raise api_error(f"Cancelling batch {batch_id}", exc, api_key) from None
        cancel_error = exc
    # The API refuses to cancel a batch that has nothing left to cancel; check that this is why.
    try:
        status = (await client.batches.retrieve(batch_id, timeout=CANCEL.request_timeout_s)).status
    except openai.NotFoundError:
        logger.info(f"OpenAI batch {batch_id} no longer exists; nothing to cancel")
        return False
    except Exception as exc:
        raise api_error(f"Reading batch {batch_id}", exc, api_key) from None
    if status in TERMINAL_STATUSES or status == "cancelling":
        logger.info(f"OpenAI batch {batch_id} is already {status}; nothing to cancel")
        return False
    raise api_error(f"Cancelling batch {batch_id}", cancel_error, api_key) from None


@dataclass
class Cancelled:
    """What a connector's `cancel` did: the batches it cancelled, and a note on anything else it
    cleaned up (a job's input files), for the message of a local run's signal handler."""

    batch_ids: list[str]
    note: str = ""

    def text(self) -> str:
        if not self.batch_ids:
            said = "No OpenAI batch of this run was still running."
        elif len(self.batch_ids) == 1:
            said = f"Cancelled OpenAI batch {self.batch_ids[0]}."
        else:
            said = f"Cancelled OpenAI batches {', '.join(self.batch_ids)}."
        return f"{said} {self.note}" if self.note else said


def _request_timeout(deadline: Deadline) -> float | None:
    """One cancel request's timeout: CANCEL's, within what is left of the deadline."""
    left = deadline.remaining()
    cap = CANCEL.request_timeout_s
    return cap if left is None else min(left, cap) if cap is not None else left


def _nothing_to_cancel(exc: BaseException) -> bool:
    """How the API refuses a cancel: 400/404/409, for a batch finished, cancelling or gone."""
    return isinstance(exc, openai.APIStatusError) and exc.status_code in (400, 404, 409)


class FaultGrace:
    """GetTask answers RUNNING through transient faults for `grace_s`, then fails.

    Remembers, per polled thing (a batch id, a job key), the first and the latest fault of an
    unbroken run; a successful poll ends the run (`clear`).
    """

    def __init__(self, grace_s: float = POLL_FAULT_GRACE_S) -> None:
        self.grace_s = grace_s
        self._faults: dict[str, tuple[float, float]] = {}

    def clear(self, name: str) -> None:
        self._faults.pop(name, None)

    def outage(self, name: str, exc: BaseException) -> str:
        """What the run of faults of `name` looks like from here, for a status line: ``server
        unreachable for 40 s, retrying`` (``server answering HTTP 503 ...`` for a status)."""
        since, latest = self._faults.get(name, (clock().monotonic(), clock().monotonic()))
        status = getattr(exc, "status_code", None)
        what = f"server answering HTTP {status}" if isinstance(status, int) else "server unreachable"
        return f"{what} for {int(latest - since)} s, retrying"

    def message(self, name: str, action: str, exc: Exception, api_key: str) -> str:
        """The RUNNING message for one more fault; raises BatchAPIError once the grace is spent."""
        now = clock().monotonic()
        # Forget runs of faults that propeller stopped asking about (the horizon is long enough that
        # no poll interval can reset a run that is still going on).
        horizon = max(2 * self.grace_s, FORGET_FAULTS_AFTER_S)
        for other, (_, latest) in list(self._faults.items()):
            if now - latest > horizon:
                self._faults.pop(other, None)
        since = self._faults.get(name, (now, now))[0]
        self._faults[name] = (since, now)
        if now - since > self.grace_s:
            self._faults.pop(name, None)
            raise api_error(f"{action} (failing for {now - since:.0f} s)", exc, api_key) from None
        return (
            f"{describe_failure(action, exc, api_key)}; asking again at the next poll "
            f"(faults for {now - since:.0f} s, giving up after {self.grace_s:.0f} s)."
        )


def api_error(action: str, exc: BaseException, api_key: str) -> BatchAPIError:
    """Built afresh (raise it `from None`) so that neither the SDK's exception nor its request, which
    hold the key, reach the traceback that the connector service sends to propeller."""
    return BatchAPIError(describe_failure(action, exc, api_key))
