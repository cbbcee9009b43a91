"""One forwarded batch being answered: its requests sent, each answer appended to its result file.

A job reads the input line by line and keeps at most `concurrency` requests in flight (a limit shared
by every job of the server), so a batch of any size is forwarded in flat memory. It skips the requests
the result files already answer, which is how a restarted server resumes a batch.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from ..batches.jsonl import ERRORS, INPUT, OUTPUT, answer_line, error_line, iter_lines, line_seed, parse_line
from ..errors import status_error
from ._progress import Progress, scan, usage_tokens
from .options import ForwardOptions
from .upstream import Upstream, UpstreamReply, UpstreamUnreachable, target_path

log = logging.getLogger(__name__)


def transient(status: int) -> bool:
    """The statuses OpenAI's own SDK sends again: timeouts, conflicts, rate limits, server errors."""
    return status in (408, 409, 429) or status >= 500


class Pacer:
    """Spaces the starts of requests to at most `rate` a second (0: no limit), over all jobs."""

    def __init__(self, rate: float) -> None:
        self._interval = 1 / rate if rate > 0 else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if not self._interval:
            return
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + self._interval
        if start > now:
            await asyncio.sleep(start - now)


class Shared:
    """What every job of a server shares: the upstream's connections and its concurrency and rate."""

    def __init__(self, options: ForwardOptions) -> None:
        self.options = options
        self.upstream = Upstream(options.url, options.api_key, options.timeout_seconds)
        self.slots = asyncio.Semaphore(options.concurrency)
        self.pacer = Pacer(options.requests_per_second)


class ForwardJob:
    """Sends one batch's unanswered requests; its progress is read by the engine's thread."""

    def __init__(self, batch_id: str, endpoint: str, work: Path, shared: Shared) -> None:
        self.batch_id = batch_id
        self._work = work
        self._shared = shared
        self._path = target_path(shared.upstream.base_path, endpoint)
        self._lock = threading.Lock()
        self._progress = scan(work)
        self.finished_at: float | None = None

    def progress(self) -> Progress:
        """A consistent copy of the counts (without the answered set, which only the job needs)."""
        with self._lock:
            p = self._progress
            return Progress(
                p.completed, p.failed, p.input_tokens, p.output_tokens, p.output_bytes, p.error_bytes
            )

    def answered(self) -> set[str]:
        """The answered `custom_id`s; read only once the job has stopped."""
        return self._progress.answered

    async def run(self) -> None:
        """Send every unanswered request; cancelling it stops sending and drops answers in flight."""
        tasks: set[asyncio.Task[None]] = set()
        slots = self._shared.slots

        def finished(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            slots.release()

        with (
            (self._work / OUTPUT).open("ab", buffering=0) as out,
            (self._work / ERRORS).open("ab", buffering=0) as err,
        ):
            try:
                for _, raw in iter_lines(self._work / INPUT):
                    request = parse_line(raw)
                    if request["custom_id"] in self._progress.answered:
                        continue
                    await slots.acquire()
                    await self._shared.pacer.wait()
                    task = asyncio.create_task(self._one(request["custom_id"], request["body"], out, err))
                    tasks.add(task)
                    # A callback, not a `finally` in the task: it runs even for a task cancelled unstarted.
                    task.add_done_callback(finished)
                while tasks:
                    await asyncio.wait(set(tasks))
                self.finished_at = time.time()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _one(self, custom_id: str, body: Any, out: Any, err: Any) -> None:
        try:
            await self._answer(custom_id, body, out, err)
        except Exception:
            # Unanswered, so the engine's check that every request is answered starts a new job.
            log.exception("could not forward request %r of batch %s", custom_id, self.batch_id)

    async def _answer(self, custom_id: str, body: Any, out: Any, err: Any) -> None:
        outcome = await self._send(orjson.dumps(body))
        line, ok, tokens = result_line(self.batch_id, custom_id, outcome, self._shared.options.attempts)
        (out if ok else err).write(line)  # one write: a stop leaves whole lines
        with self._lock:
            self._progress.add(custom_id, len(line), ok, tokens)

    async def _send(self, body: bytes) -> UpstreamReply | str:
        """The upstream's answer, sending again after transient failures; the last failure's reason
        when no answer came back at all."""
        options = self._shared.options
        for attempt in range(1, options.attempts + 1):
            hint = None
            try:
                reply = await self._shared.upstream.post(self._path, body)
            except UpstreamUnreachable as exc:
                failure: UpstreamReply | str = str(exc)
            else:
                if not transient(reply.status):
                    return reply
                failure, hint = reply, reply.retry_after
            if attempt == options.attempts:
                return failure
            wait = min(options.max_backoff_seconds, options.backoff_seconds * 2 ** (attempt - 1))
            wait = random.uniform(wait / 2, wait)  # spread out requests that failed together
            await asyncio.sleep(min(options.max_backoff_seconds, hint) if hint is not None else wait)
        raise AssertionError("unreachable")


def result_line(
    batch_id: str, custom_id: str, outcome: UpstreamReply | str, attempts: int
) -> tuple[bytes, bool, tuple[int, int]]:
    """The result line of one request in OpenAI's shape, whether it goes to the output file, and its
    (input, output) tokens."""
    seed = line_seed(batch_id, custom_id)
    if isinstance(outcome, str):
        message = f"The upstream server gave no answer after {attempts} attempt(s) ({outcome})."
        return (
            error_line(seed, custom_id, {"code": "upstream_unreachable", "message": message}),
            False,
            (0, 0),
        )
    try:
        body = orjson.loads(outcome.body)
    except orjson.JSONDecodeError:
        body = None
    status = outcome.status
    if not isinstance(body, dict):
        status = 502 if status < 400 else status
        body = status_error(status, "(The upstream server's answer was not a JSON object.)")
    ok = status == 200
    line = answer_line(seed, custom_id, status, body, outcome.request_id)
    return line, ok, usage_tokens(body) if ok else (0, 0)
