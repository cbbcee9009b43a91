"""`wait_until`, the one way the tests wait: it returns what it waited for, and a timeout says what."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import pytest

from tests.support.waiting import wait_until, wait_until_async, while_running


def test_returns_the_first_truthy_value() -> None:
    answers = iter([None, 0, "", "there"])
    assert wait_until(lambda: next(answers), what="an answer", timeout=5) == "there"


def test_until_tests_the_value_and_the_value_is_returned() -> None:
    counts = iter(range(10))
    assert wait_until(lambda: next(counts), until=lambda n: n >= 3, what="three", timeout=5) == 3


def test_a_timeout_names_what_was_awaited_and_the_last_value() -> None:
    with pytest.raises(
        AssertionError, match=r"timed out after 0.05 s waiting for the batch; last value: 'running'"
    ):
        wait_until(lambda: "running", until=lambda s: s == "done", what="the batch", timeout=0.05)


def test_a_condition_wakes_the_wait() -> None:
    changed = threading.Condition()
    box: list[str] = []

    def put() -> None:
        with changed:
            box.append("x")
            changed.notify_all()

    threading.Timer(0.05, put).start()
    assert wait_until(lambda: list(box), what="the box filled", timeout=30, changed=changed) == ["x"]


def test_the_async_wait_leaves_the_loop_free() -> None:
    async def scenario() -> str:
        done = asyncio.Event()
        asyncio.get_running_loop().call_later(0.05, done.set)

        async def probe() -> bool:
            return done.is_set()

        await wait_until_async(probe, what="the event", timeout=30)
        return "set"

    assert asyncio.run(scenario()) == "set"


@pytest.mark.slow
def test_a_process_that_ends_first_ends_the_wait_with_its_output() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", "print('gave up')"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with pytest.raises(AssertionError, match=r"the process exited \(0\) first:\n\('gave up"):
        wait_until(while_running(process, lambda: False), what="never", timeout=60)
