"""The per-model limit of enqueued prompt tokens: batches in flight hold their tokens until they finish."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import openai
import pytest
from openai.types import Batch

from openai_batch_emulator import Emulator
from tests.support.waiting import wait_until

from .helpers import FINAL, chat_line, fast, start_batch, wait

LINES = [chat_line(f"r{i}", text="x" * 40) for i in range(5)]  # 5 x (10 + 4) tokens
TOKENS = 70


def _refused(batch: Batch, model: str, limit: int) -> None:
    assert batch.status == "failed"
    assert batch.in_progress_at is None
    assert batch.errors is not None
    assert batch.errors.data is not None
    [error] = batch.errors.data
    assert (error.code, error.line, error.param) == ("token_limit_exceeded", None, None)
    assert error.message == (
        f"Enqueued token limit reached for {model} in organization org-emulator. Limit: {limit:,} "
        "enqueued tokens. Please try again once some in_progress batches have been completed."
    )


def test_batches_in_flight_hold_their_tokens_until_they_finish(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    limit = 2 * TOKENS - 1
    fast(emulator, requests_per_second=0, enqueued_token_limits={"gpt-4o-mini": limit})
    held = wait(openai_client, start_batch(openai_client, LINES).id, ("in_progress",))
    assert emulator.enqueued_tokens() == {"gpt-4o-mini": TOKENS}
    control = httpx.get(f"{emulator.url}/_emulator/enqueued_tokens")
    assert control.json() == {"data": {"gpt-4o-mini": TOKENS}}

    _refused(wait(openai_client, start_batch(openai_client, LINES).id), "gpt-4o-mini", limit)
    assert emulator.enqueued_tokens() == {"gpt-4o-mini": TOKENS}  # a refused batch holds nothing

    # Another model has its own count, and no limit here.
    other = [chat_line(f"o{i}", text="x" * 40, model="gpt-4o") for i in range(5)]
    wait(openai_client, start_batch(openai_client, other).id, ("in_progress",))
    assert emulator.enqueued_tokens() == {"gpt-4o-mini": TOKENS, "gpt-4o": TOKENS}

    openai_client.batches.cancel(held.id)
    assert wait(openai_client, held.id).status == "cancelled"
    assert emulator.enqueued_tokens() == {"gpt-4o": TOKENS}
    emulator.configure(requests_per_second=1000)
    done = wait(openai_client, start_batch(openai_client, LINES).id)
    assert done.status == "completed", done.errors
    assert "gpt-4o-mini" not in emulator.enqueued_tokens()  # finished: its tokens are free again


def test_a_batch_larger_than_the_limit_fails_alone(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    fast(emulator, enqueued_token_limits={"*": TOKENS - 1, "gpt-4o": TOKENS})
    _refused(wait(openai_client, start_batch(openai_client, LINES).id), "gpt-4o-mini", TOKENS - 1)
    exact = [chat_line(f"o{i}", text="x" * 40, model="gpt-4o") for i in range(5)]
    assert wait(openai_client, start_batch(openai_client, exact).id).status == "completed"


@pytest.mark.slow
def test_limits_apply_in_validation_order_after_a_restart(tmp_path: Path) -> None:
    limits = {"gpt-4o-mini": TOKENS}
    with (
        Emulator(
            data_dir=tmp_path, validating_seconds=0.5, requests_per_second=0, enqueued_token_limits=limits
        ) as first,
        first.client() as client,
    ):
        batches = [start_batch(client, LINES) for _ in range(4)]
    # Every validation falls due while the emulator is down.
    due = batches[-1].created_at + 1.5
    wait_until(lambda: time.time() >= due, timeout=30, what="every validation due")
    with Emulator(data_dir=tmp_path) as second, second.client() as client:
        # Asking for the later batches first must not let them take the tokens of the earliest.
        for late in reversed(batches[1:]):
            _refused(wait(client, late.id, FINAL), "gpt-4o-mini", TOKENS)
        assert client.batches.retrieve(batches[0].id).status == "in_progress"
        assert second.enqueued_tokens() == {"gpt-4o-mini": TOKENS}


@pytest.mark.parametrize(
    "value",
    [{"gpt-4o-mini": 0}, {"gpt-4o-mini": "many"}, {"": 5}, [1], "{not json"],
)
def test_bad_limits_are_refused(emulator: Emulator, value: object) -> None:
    answer = httpx.patch(f"{emulator.url}/_emulator/settings", json={"enqueued_token_limits": value})
    assert answer.status_code == 400
    assert "enqueued_token_limits" in answer.json()["error"]["message"]
    with pytest.raises(ValueError, match="enqueued_token_limits"):
        emulator.configure(enqueued_token_limits=value)
    good = httpx.patch(
        f"{emulator.url}/_emulator/settings", json={"enqueued_token_limits": '{"gpt-4o-mini": 5}'}
    )
    assert good.json()["enqueued_token_limits"] == {"gpt-4o-mini": 5}
