"""Forwarding mode over real HTTP: a second emulator as the upstream (its synchronous endpoints), and the
tests' own upstream for what an emulator cannot play (429/500/drops, down for a while, held answers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import openai
import pytest
from openai.types import Batch

from openai_batch_emulator import Emulator
from openai_batch_emulator.forwarding.upstream import target_path

from .forward_support import (
    UPSTREAM_KEY,
    Act,
    Upstream,
    chat_lines,
    files_contain,
    forwarding,
    free_port,
    wait_batch,
)
from .helpers import FINAL, read_lines, start_batch

pytestmark = pytest.mark.slow  # each test starts emulators of its own


@pytest.fixture(autouse=True)
def upstream_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENAI_FORWARD_API_KEY", UPSTREAM_KEY)
    return UPSTREAM_KEY


def finished(client: openai.OpenAI, batch_id: str) -> Batch:
    return wait_batch(client, batch_id, lambda b: b.status in FINAL, "the batch to finish")


def completed(count: int) -> Callable[[Batch], bool]:
    return lambda b: b.request_counts is not None and b.request_counts.completed >= count


def test_paths_keep_or_drop_v1() -> None:
    assert target_path("/v1", "/v1/chat/completions") == "/v1/chat/completions"
    assert target_path("/v1/", "/v1/embeddings") == "/v1/embeddings"
    assert target_path("", "/v1/chat/completions") == "/v1/chat/completions"
    assert target_path("/openai", "/v1/responses") == "/openai/v1/responses"
    assert target_path("/proxy/v1", "/v1/responses") == "/proxy/v1/responses"


def test_second_emulator_answers_with_its_own_bodies_and_usage(tmp_path: Path) -> None:
    # The upstream accepts only the forwarding key, and knows only "llama" models: the client's key and
    # the forwarding server's own model list play no part.
    with (
        Emulator(api_key=UPSTREAM_KEY, known_models="^llama") as upstream,
        forwarding(upstream.base_url, tmp_path) as server,
        server.client() as client,
        upstream.client() as direct,
    ):
        lines = chat_lines([f"r{i}" for i in range(25)], model="llama-3-8b")
        batch = finished(client, start_batch(client, lines).id)
        assert batch.status == "completed", batch
        assert batch.request_counts is not None
        assert batch.request_counts.completed == 25
        output = read_lines(client, batch.output_file_id)
        assert sorted(line["custom_id"] for line in output) == sorted(f"r{i}" for i in range(25))
        prompt = completion = 0
        for line in output:
            assert line["error"] is None
            assert line["id"].startswith("batch_req_")
            response = line["response"]
            assert response["status_code"] == 200
            assert response["request_id"].startswith("req_")
            same = direct.chat.completions.create(
                model="llama-3-8b", messages=[{"role": "user", "content": line["custom_id"]}]
            )
            assert response["body"]["choices"][0]["message"]["content"] == same.choices[0].message.content
            prompt += response["body"]["usage"]["prompt_tokens"]
            completion += response["body"]["usage"]["completion_tokens"]
        assert batch.usage is not None
        assert (batch.usage.input_tokens, batch.usage.output_tokens) == (prompt, completion)
        assert prompt > 0

        refused = finished(client, start_batch(client, chat_lines(["x1", "x2"], model="gpt-4o")).id)
        assert refused.request_counts is not None
        assert refused.request_counts.failed == 2
        errors = read_lines(client, refused.error_file_id)
        assert {e["response"]["status_code"] for e in errors} == {404}
        assert {e["response"]["body"]["error"]["code"] for e in errors} == {"model_not_found"}
    assert files_contain(tmp_path, UPSTREAM_KEY) == []


def test_embeddings_through_a_second_emulator() -> None:
    lines = [
        {
            "custom_id": f"e{i}",
            "method": "POST",
            "url": "/v1/embeddings",
            "body": {"model": "text-embedding-3-small", "input": f"text {i}"},
        }
        for i in range(5)
    ]
    with (
        Emulator(api_key=UPSTREAM_KEY) as upstream,
        forwarding(upstream.url) as server,
        server.client() as client,
    ):
        batch = finished(client, start_batch(client, lines, endpoint="/v1/embeddings").id)
        output = read_lines(client, batch.output_file_id)
    assert batch.status == "completed"
    assert len(output) == 5
    assert all(len(line["response"]["body"]["data"][0]["embedding"]) == 1536 for line in output)
    assert batch.usage is not None
    assert batch.usage.input_tokens == sum(
        line["response"]["body"]["usage"]["prompt_tokens"] for line in output
    )


def plan(content: str, attempt: int) -> Act:
    """429 twice (with OpenAI's retry-after-ms), 500 once, a drop twice, 500 always, 400 once."""
    if content == "rate-limited" and attempt <= 2:
        return Act(429, headers={"retry-after-ms": "10"})
    if content == "flaky" and attempt == 1:
        return Act(500)
    if content == "dropped" and attempt <= 2:
        return Act(drop=True)
    if content == "broken":
        return Act(503)
    if content == "invalid":
        return Act(400)
    return Act()


def test_transient_errors_are_retried_then_recorded(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ids = ["ok-1", "rate-limited", "flaky", "dropped", "broken", "invalid", "ok-2"]
    with (
        Upstream(plan) as upstream,
        forwarding(upstream.base_url, tmp_path, attempts=3) as server,
        server.client() as client,
    ):
        batch = finished(client, start_batch(client, chat_lines(ids)).id)
        output = read_lines(client, batch.output_file_id)
        errors = read_lines(client, batch.error_file_id)
        error_file = client.files.content(str(batch.error_file_id)).text
    assert batch.status == "completed"
    assert batch.request_counts is not None
    assert (batch.request_counts.completed, batch.request_counts.failed) == (5, 2)
    assert {line["custom_id"] for line in output} == {"ok-1", "rate-limited", "flaky", "dropped", "ok-2"}
    assert all(
        line["response"]["body"]["choices"][0]["message"]["content"] == "Re: " + line["custom_id"]
        for line in output
    )
    assert {line["response"]["request_id"] for line in output} == {
        f"req_up_{line['custom_id']}" for line in output
    }
    by_id = {line["custom_id"]: line for line in errors}
    assert by_id["broken"]["response"]["status_code"] == 503
    assert by_id["broken"]["response"]["body"]["error"]["message"] == "upstream says 503"
    assert by_id["invalid"]["response"]["status_code"] == 400
    assert by_id["invalid"]["error"] is None
    assert dict(upstream.attempts) == {
        "ok-1": 1,
        "ok-2": 1,
        "rate-limited": 3,
        "flaky": 2,
        "dropped": 3,
        "broken": 3,
        "invalid": 1,
    }
    assert batch.usage is not None
    assert batch.usage.total_tokens == 5 * 5
    # The upstream got the forwarding key and nothing else; the key is nowhere on disk or in the logs.
    assert upstream.authorizations == {f"Bearer {UPSTREAM_KEY}"}
    assert UPSTREAM_KEY not in error_file
    assert UPSTREAM_KEY not in caplog.text
    assert files_contain(tmp_path, UPSTREAM_KEY) == []


def test_without_a_key_no_authorization_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_FORWARD_API_KEY")
    with Upstream() as upstream, forwarding(upstream.base_url) as server, server.client() as client:
        batch = finished(client, start_batch(client, chat_lines(["a", "b"])).id)
    assert batch.status == "completed"
    assert upstream.authorizations == {None}


def test_unreachable_upstream_records_each_request_as_an_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with forwarding(url, tmp_path, attempts=2) as server, server.client() as client:
        batch = finished(client, start_batch(client, chat_lines(["a", "b", "c"])).id)
        errors = read_lines(client, batch.error_file_id)
    assert batch.status == "completed"
    assert batch.output_file_id is None
    assert batch.request_counts is not None
    assert batch.request_counts.failed == 3
    for line in errors:
        assert line["response"] is None
        assert line["error"]["code"] == "upstream_unreachable"
        assert "2 attempt(s)" in line["error"]["message"]
        assert UPSTREAM_KEY not in line["error"]["message"]


def test_an_upstream_down_for_a_while_is_waited_for() -> None:
    down = {"on": True}

    def outage(content: str, attempt: int) -> Act:
        return Act(drop=True) if down["on"] else Act()

    ids = [f"d{i}" for i in range(12)]
    with (
        Upstream(outage) as upstream,
        forwarding(upstream.base_url, attempts=1000, concurrency=4) as server,
        server.client() as client,
    ):
        batch = start_batch(client, chat_lines(ids))
        upstream.wait_until(lambda: upstream.received() >= 20, "the forwarder to find the upstream down")
        down["on"] = False
        done = finished(client, batch.id)
        output = read_lines(client, done.output_file_id)
    assert done.status == "completed"
    assert done.error_file_id is None
    assert sorted(line["custom_id"] for line in output) == sorted(ids)


def held_after(answered: int) -> tuple[list[str], Callable[[str, int], Act]]:
    """Ids and a plan: the first `answered` ids are answered, the others held until the gate opens."""
    ids = [f"h{i:02d}" for i in range(20)]

    def hold(content: str, attempt: int) -> Act:
        return Act() if ids.index(content) < answered else Act(hold=True)

    return ids, hold


def test_cancel_mid_batch_stops_sending_and_keeps_answers() -> None:
    ids, hold = held_after(3)
    with (
        Upstream(hold) as upstream,
        forwarding(upstream.base_url, concurrency=2) as server,
        server.client() as client,
    ):
        batch = start_batch(client, chat_lines(ids))
        upstream.wait_until(lambda: upstream.holding == 2, "two requests held upstream")
        wait_batch(client, batch.id, completed(3), "three answers")
        client.batches.cancel(batch.id)
        done = finished(client, batch.id)
        sent = upstream.received()
        upstream.gate.set()  # the held answers now come back to nobody
        output = read_lines(client, done.output_file_id)
    assert done.status == "cancelled"
    assert sent == 5  # three answered, two in flight, none sent after the cancel
    assert sorted(line["custom_id"] for line in output) == ids[:3]
    assert done.request_counts is not None
    assert (done.request_counts.completed, done.request_counts.failed, done.request_counts.total) == (
        3,
        0,
        20,
    )


def test_completion_window_expires_what_is_left() -> None:
    ids, hold = held_after(2)
    settings = {"completion_window_seconds": 3}
    with (
        Upstream(hold) as upstream,
        forwarding(upstream.base_url, settings=settings) as server,
        server.client() as client,
    ):
        batch = finished(client, start_batch(client, chat_lines(ids)).id)
        output = read_lines(client, batch.output_file_id)
        errors = read_lines(client, batch.error_file_id)
    assert batch.status == "expired"
    assert sorted(line["custom_id"] for line in output + errors) == ids
    assert {line["custom_id"] for line in output} <= set(ids[:2])
    assert all(line["error"]["code"] == "batch_expired" and line["response"] is None for line in errors)
    assert batch.request_counts is not None
    assert batch.request_counts.completed + batch.request_counts.failed == 20
