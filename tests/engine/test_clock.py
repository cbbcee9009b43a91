"""The engine's clock and id factory (`openai_batch_jobs.clock`): what `using` gives is what the engine reads."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest

from openai_batch_jobs import clock
from openai_batch_jobs.api.retry import (
    JITTER,
    Deadline,
    DeadlinePassed,
    RetryPolicy,
    acall_with_retries,
    call_with_retries,
)
from openai_batch_jobs.recovery.resume import local_job_key

RUN_ID = uuid.UUID("0123456789ab4cde8f0123456789abcd")


class ManualClock:
    """A clock that moves only when something waits on it."""

    def __init__(self) -> None:
        self.at = 1000.0
        self.waits: list[float] = []

    def now(self) -> float:
        return 1_700_000_000.0 + self.at

    def monotonic(self) -> float:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.at += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def failing_twice(manual: ManualClock) -> tuple[list[float], Callable[[Deadline], str]]:
    """A call that fails twice, then answers; when (on ``manual``) each try came."""
    tries: list[float] = []

    def call(deadline: Deadline) -> str:
        tries.append(manual.monotonic())
        if len(tries) < 3:
            raise ConnectionError("down")
        return "answered"

    return tries, call


def test_using_gives_its_clock_and_ids_for_the_block_only() -> None:
    manual = ManualClock()
    ids = iter([uuid.UUID(int=1), uuid.UUID(int=2)])
    with clock.using(clock=manual, ids=lambda: next(ids)):
        assert clock.clock() is manual
        assert clock.new_id() == uuid.UUID(int=1)
        with clock.using(ids=lambda: uuid.UUID(int=7)):
            assert clock.clock() is manual  # an inner block changes only what it names
            assert clock.new_id() == uuid.UUID(int=7)
        assert clock.new_id() == uuid.UUID(int=2)
    assert clock.clock() is clock.SYSTEM_CLOCK
    assert clock.new_id() != clock.new_id()


def test_retries_wait_on_the_clock_in_use() -> None:
    manual = ManualClock()
    tries, call = failing_twice(manual)
    policy = RetryPolicy(retries=None, first_wait_s=2.0, max_wait_s=8.0, deadline_s=60.0)
    with clock.using(clock=manual):
        assert call_with_retries(call, policy, action="test", retry_if=lambda e: True) == "answered"
    assert len(manual.waits) == 2
    assert 2.0 * (1 - JITTER) <= manual.waits[0] <= 2.0
    assert 4.0 * (1 - JITTER) <= manual.waits[1] <= 4.0
    assert tries == pytest.approx([1000.0, 1000.0 + manual.waits[0], 1000.0 + sum(manual.waits)])


def test_async_retries_wait_on_the_clock_in_use() -> None:
    manual = ManualClock()
    tries, call = failing_twice(manual)

    async def acall(deadline: Deadline) -> str:
        return call(deadline)

    policy = RetryPolicy(retries=2, first_wait_s=1.0, max_wait_s=1.0)
    with clock.using(clock=manual):
        assert (
            asyncio.run(acall_with_retries(acall, policy, action="test", retry_if=lambda e: True))
            == "answered"
        )
    assert len(manual.waits) == len(tries) - 1 == 2


def test_a_deadline_runs_on_the_clock_in_use() -> None:
    manual = ManualClock()
    with clock.using(clock=manual):
        deadline = Deadline(10.0)
        assert deadline.remaining() == 10.0
        assert not deadline.allows(10.0)
        manual.sleep(10.0)
        with pytest.raises(DeadlinePassed):
            deadline.remaining()


def test_a_local_job_is_named_with_an_id_from_the_factory() -> None:
    with clock.using(ids=lambda: RUN_ID):
        key, since = local_job_key(["file-a"], {"model": "m"}, "http://127.0.0.1:1/v1")
    assert key.startswith("local/")
    assert key.endswith("/" + RUN_ID.hex[:12])
    assert since is None
