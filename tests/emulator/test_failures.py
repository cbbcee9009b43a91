"""Chosen requests fail with a chosen status, maybe only on their first attempts, or get corrupt lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion

from openai_batch_emulator import Emulator

from .helpers import chat_line, fast, read_lines, start_batch, wait

ERROR_FIELDS = {"message", "type", "param", "code"}


def _run(client: openai.OpenAI, custom_ids: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run one batch of these requests: (output lines, error lines), each by custom_id."""
    done = wait(client, start_batch(client, [chat_line(c) for c in custom_ids]).id)
    assert done.status == "completed"
    output = {line["custom_id"]: line for line in read_lines(client, done.output_file_id)}
    errors = {line["custom_id"]: line for line in read_lines(client, done.error_file_id)}
    assert done.request_counts is not None
    assert (done.request_counts.completed, done.request_counts.failed) == (len(output), len(errors))
    return output, errors


def test_each_rule_fails_its_requests_with_its_status(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    fast(
        emulator,
        fail_requests=[
            {"custom_ids": "^rate-", "status": 429},
            {"custom_ids": "^bad-", "status": 400},
            {"custom_ids": "^busy-", "status": 503},
            {"custom_ids": "^odd-", "status": 418},
        ],
        fail_custom_ids="^boom-",
    )
    output, errors = _run(openai_client, ["ok-1", "rate-1", "bad-1", "busy-1", "odd-1", "boom-1", "ok-2"])
    assert list(output) == ["ok-1", "ok-2"]
    assert list(errors) == ["rate-1", "bad-1", "busy-1", "odd-1", "boom-1"]
    expected = {
        "rate-1": (429, "requests", "rate_limit_exceeded", "fail_requests"),
        "bad-1": (400, "invalid_request_error", None, "fail_requests"),
        "busy-1": (503, "server_error", None, "fail_requests"),
        "odd-1": (418, "invalid_request_error", None, "fail_requests"),
        "boom-1": (500, "server_error", None, "fail_custom_ids"),
    }
    for custom_id, (status, kind, code, setting) in expected.items():
        line = errors[custom_id]
        # OpenAI's shape for a request that got an HTTP error: the response, and no `error`.
        assert set(line) == {"id", "custom_id", "response", "error"}
        assert line["error"] is None
        assert line["id"].startswith("batch_req_")
        assert line["response"]["status_code"] == status
        assert line["response"]["request_id"].startswith("req_")
        error = line["response"]["body"]["error"]
        assert set(error) == ERROR_FIELDS
        assert (error["type"], error["code"]) == (kind, code)
        assert f"emulator's {setting} setting" in error["message"]


@pytest.mark.slow
def test_first_attempts_fail_and_follow_up_batches_succeed(tmp_path: Path) -> None:
    rules = [
        {"custom_ids": "^flaky-", "status": 500, "attempts": 1},
        {"custom_ids": "^twice-", "status": 429, "attempts": 2},
        {"custom_ids": "^never-", "status": 400},
    ]
    settings = {"validating_seconds": 0.05, "finalizing_seconds": 0.05, "fail_requests": rules}
    with Emulator(data_dir=tmp_path, **settings) as first, first.client() as client:
        _, errors = _run(client, ["flaky-1", "twice-1", "never-1", "ok-1"])
        assert list(errors) == ["flaky-1", "twice-1", "never-1"]
        output, errors = _run(client, ["flaky-1", "twice-1", "never-1", "flaky-2"])
        assert list(output) == ["flaky-1"]
        assert list(errors) == ["twice-1", "never-1", "flaky-2"]
    # Attempts are remembered in the data directory: a restarted emulator goes on counting.
    with Emulator(data_dir=tmp_path, **settings) as second, second.client() as client:
        output, errors = _run(client, ["twice-1", "never-1", "flaky-2"])
        assert list(output) == ["twice-1", "flaky-2"]
        assert list(errors) == ["never-1"]
        assert ChatCompletion.model_validate(output["twice-1"]["response"]["body"]).choices


def test_corrupt_result_lines(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    fast(
        emulator,
        fail_requests=[
            {"custom_ids": "^cut-", "status": "truncated"},
            {"custom_ids": "^junk-", "status": "not_json", "attempts": 1},
        ],
    )
    lines = [chat_line(c) for c in ("ok-1", "cut-1", "junk-1", "ok-2")]
    done = wait(openai_client, start_batch(openai_client, lines).id)
    assert done.request_counts is not None
    assert done.request_counts.completed == 4  # answered; only their lines are broken
    raw = openai_client.files.content(done.output_file_id or "").text.splitlines()
    assert len(raw) == 4
    assert [json.loads(raw[i])["custom_id"] for i in (0, 3)] == ["ok-1", "ok-2"]
    for broken in raw[1:3]:
        with pytest.raises(json.JSONDecodeError):
            json.loads(broken)
    assert raw[1].startswith('{"id":"batch_req_')
    assert '"custom_id":"cut-1"' in raw[1]
    # The same requests again: `cut-` is broken on every attempt, `junk-` only on its first.
    again = wait(openai_client, start_batch(openai_client, lines).id)
    raw = openai_client.files.content(again.output_file_id or "").text.splitlines()
    assert json.loads(raw[2])["custom_id"] == "junk-1"
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw[1])


def test_rules_over_http(emulator: Emulator) -> None:
    control = f"{emulator.url}/_emulator/settings"
    rule = {"custom_ids": "^a", "status": 429, "attempts": 2}
    changed = httpx.patch(control, json={"fail_requests": [rule]})
    assert changed.status_code == 200
    assert changed.json()["fail_requests"] == [rule]
    assert httpx.get(control).json()["fail_requests"] == [rule]
    assert emulator.settings.fail_requests[0].attempts == 2
    for bad in (
        [{"custom_ids": "("}],
        [{"custom_ids": "a", "status": 200}],
        [{"custom_ids": "a", "status": "gibberish"}],
        [{"custom_ids": "a", "attempts": 0}],
        [{"status": 500}],
        [{"custom_ids": "a", "surprise": 1}],
        {"custom_ids": "a"},
    ):
        refused = httpx.patch(control, json={"fail_requests": bad})
        assert refused.status_code == 400, bad
        assert "fail_requests" in refused.json()["error"]["message"]
    assert httpx.patch(control, json={"fail_requests": None}).json()["fail_requests"] == []
