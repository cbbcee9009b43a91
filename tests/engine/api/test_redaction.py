"""The one redaction and retry rule that the file tasks and the connector share."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from openai_batch_jobs.api.redact import redact
from openai_batch_jobs.api.retry import describe_failure, is_transient
from tests.support.sdk_http import sdk_http

REQUEST = sdk_http.Request("GET", "http://127.0.0.1/v1/batches/batch_x")


def status_error(status: int, body: str) -> openai.APIStatusError:
    response = sdk_http.Response(status, request=REQUEST, text=body)
    return openai.APIStatusError(f"Error code: {status} - {body}", response=response, body=body)


def test_redact_removes_the_exact_secret_whatever_its_shape() -> None:
    assert redact("key=plainsecret1234 rejected", "plainsecret1234") == "key=*** rejected"
    assert redact("short key abc stays", "abc") == "short key abc stays"
    assert redact("no secret given", None) == "no secret given"


@pytest.mark.parametrize(
    "key",
    ["sk-fake-abcdefghijklmnop0123", "sk-proj-fake_ABCdef-0123456789", "sk-svcacct-fake0123456789abcdef"],
)
def test_redact_masks_anything_shaped_like_an_openai_key(key: str) -> None:
    text = redact(f"Incorrect API key provided: {key}. Find yours at ...", None)
    assert key not in text
    assert f"provided: {key[:6]}***." in text


def test_redact_masks_bearer_tokens() -> None:
    text = redact("sent header Authorization: Bearer tok_abc.DEF-123, refused", None)
    assert text == "sent header Authorization: Bearer ***, refused"
    assert redact("authorization: bearer 'xyz987'", None) == "authorization: bearer '***'"


def test_redact_leaves_ordinary_words_alone() -> None:
    text = "task-abc risk-free desk-sk-x batch_123 file-abc"
    assert redact(text, None) == text


def test_describe_an_http_failure_with_and_without_retries() -> None:
    key = "sk-proj-fake-echoed0123456789"
    error = status_error(503, f"overloaded; your key {key}")
    assert is_transient(error)
    text = describe_failure("Reading batch batch_x", error, key, 2)
    # The status once, not again in the SDK's "Error code: 503 - " prefix.
    assert text.startswith("Reading batch batch_x failed: HTTP 503 (after 2 retries): overloaded; your key")
    assert key not in text
    assert "***" in text
    assert describe_failure("Reading batch batch_x", error, key).startswith(
        "Reading batch batch_x failed: HTTP 503: overloaded;"
    )

    bad = status_error(401, "Incorrect API key provided: sk-fake-someoneelses0123456")
    assert not is_transient(bad)
    text = describe_failure("Uploading in.jsonl", bad, "sk-mine-0000", 2)
    assert text.startswith("Uploading in.jsonl failed: HTTP 401 (not retried): ")
    assert "someoneelses" not in text


@pytest.mark.parametrize(
    ("status", "transient"),
    [(400, False), (404, False), (408, True), (409, True), (429, True), (500, True), (502, True)],
)
def test_which_statuses_are_worth_sending_again(status: int, transient: bool) -> None:
    assert is_transient(status_error(status, "x")) is transient


def test_describe_a_connection_failure() -> None:
    error: Any = openai.APIConnectionError(request=REQUEST)
    assert is_transient(error)
    assert is_transient(sdk_http.ReadError("cut", request=REQUEST))
    assert not is_transient(ValueError("nope"))
    text = describe_failure("Creating a batch", error, None, 0)
    assert (
        text
        == "Creating a batch failed: connection error (after 0 retries): APIConnectionError: Connection error."
    )
