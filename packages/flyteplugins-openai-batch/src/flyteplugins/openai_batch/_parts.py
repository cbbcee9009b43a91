"""A round's parts as connector tasks: at most `max_in_flight` at once, a part refused for OpenAI's
enqueued token limit submitted again after a wait, and the rest cancelled as soon as one fails."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

from .task import OpenAIBatchTask

TOKEN_LIMIT_CODE = "token_limit_exceeded"


class PartRunner:
    def __init__(self, task: OpenAIBatchTask, max_in_flight: int, wait_s: float, attempts: int) -> None:
        self.task = task
        self.max_in_flight = max_in_flight
        self.wait_s = wait_s
        self.attempts = attempts

    async def run(self, key: str, file_ids: list[str]) -> list[dict[str, Any]]:
        """Each part's finished batch, in part order; the first failure cancels the other parts."""
        room = asyncio.Semaphore(self.max_in_flight)
        tasks = [asyncio.ensure_future(self._part(room, f"{key}/p{i}", f)) for i, f in enumerate(file_ids)]
        try:
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        except BaseException:
            done, pending = set(), set(tasks)
            await _cancel(pending)
            raise
        failed = [t for t in done if t.exception() is not None]
        if failed:
            await _cancel(pending)
            raise failed[0].exception()  # type: ignore[misc]
        return [t.result() for t in tasks]

    async def _part(self, room: asyncio.Semaphore, key: str, file_id: str) -> dict[str, Any]:
        async with room:
            for attempt in range(1, self.attempts + 1):
                try:
                    batch: dict[str, Any] = await self.task.aio(
                        key=f"{key}/t{attempt}", input_file_id=file_id
                    )
                    return batch
                except Exception as exc:
                    # The connector's message names the code: a full queue is worth waiting out.
                    if TOKEN_LIMIT_CODE not in str(exc) or attempt == self.attempts:
                        raise
                await asyncio.sleep(self.wait_s)
        raise AssertionError("unreachable: the last attempt returns or raises")


async def _cancel(tasks: Collection[asyncio.Future[Any]]) -> None:
    """Cancel the parts still running and wait until each has cancelled its batch."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
