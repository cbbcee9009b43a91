"""Authentication, error shapes, fault injection and the `/_emulator` control routes."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from openai_batch_emulator import Emulator
from tests.support.waiting import wait_until

from .helpers import chat_line, fast, upload, wait

ERROR_KEYS = {"message", "type", "param", "code"}


def test_any_non_empty_key_is_accepted_by_default(emulator: Emulator) -> None:
    assert emulator.api_key == "sk-emulator"
    with openai.OpenAI(base_url=emulator.base_url, api_key="sk-whatever") as client:
        listing = client.files.list()
        assert listing.data == []
        assert listing._request_id is not None
        assert listing._request_id.startswith("req_")


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "sk-no-scheme"])
def test_missing_key_is_a_401(emulator: Emulator, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = httpx.get(f"{emulator.base_url}/files", headers=headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == ERROR_KEYS
    assert error["type"] == "invalid_request_error"
    assert "didn't provide an API key" in error["message"]


@pytest.mark.slow
def test_a_configured_key_is_required_exactly(tmp_path: Path) -> None:
    with Emulator(data_dir=tmp_path, api_key="sk-right") as emu:
        assert emu.api_key == "sk-right"
        with (
            openai.OpenAI(base_url=emu.base_url, api_key="sk-wrong", max_retries=0) as wrong,
            pytest.raises(openai.AuthenticationError) as caught,
        ):
            wrong.files.list()
        assert caught.value.code == "invalid_api_key"
        assert "sk-wrong" not in caught.value.message  # the key is never echoed
        with emu.client() as right:
            assert right.files.list().data == []


def test_unknown_routes_answer_openai_shaped_404s(emulator: Emulator) -> None:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    for method, path in (("GET", "/v1/nothing"), ("PUT", "/v1/files"), ("GET", "/v1/batches/b/cancel")):
        response = httpx.request(method, f"{emulator.url}{path}", headers=headers)
        assert response.status_code == 404
        assert response.json()["error"]["message"] == f"Invalid URL ({method} {path})"


def test_unparseable_json_is_a_400(emulator: Emulator) -> None:
    response = httpx.post(
        f"{emulator.base_url}/batches",
        headers={"Authorization": f"Bearer {emulator.api_key}", "content-type": "application/json"},
        content=b"{nope",
    )
    assert response.status_code == 400
    assert set(response.json()["error"]) == ERROR_KEYS


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (502, openai.InternalServerError),
        (503, openai.InternalServerError),
        ("drop", openai.APIConnectionError),
    ],
)
def test_each_fault_kind_reaches_the_client(
    emulator: Emulator, status: int | str, error: type[Exception]
) -> None:
    emulator.inject_fault("GET", "/v1/files", status=status, count=1)
    with emulator.client(max_retries=0) as client:
        with pytest.raises(error) as caught:
            client.files.list()
        if isinstance(status, int):
            assert isinstance(caught.value, openai.APIStatusError)
            assert caught.value.status_code == status
            assert isinstance(caught.value.body, dict)
            assert set(caught.value.body) == ERROR_KEYS
        # The fault is used up: the next call goes through.
        assert client.files.list().data == []


def test_retry_after_is_sent_and_honoured(emulator: Emulator) -> None:
    emulator.inject_fault("POST", "/files", status=429, count=1, retry_after=0.4)
    with emulator.client(max_retries=0) as client, pytest.raises(openai.RateLimitError) as caught:
        upload(client, [chat_line("a")])
    headers = caught.value.response.headers
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("1", "400")
    assert caught.value.request_id is not None

    emulator.inject_fault("POST", "/files", status=429, count=2, retry_after=0.3)
    with emulator.client(max_retries=2) as client:
        started = time.monotonic()
        made = upload(client, [chat_line("a")])
        assert time.monotonic() - started >= 0.6  # the SDK waited as told, twice
    assert made.id.startswith("file-")


def test_sdk_retries_ride_over_faults(emulator: Emulator) -> None:
    fast(emulator)
    with emulator.client(max_retries=3) as client:
        source = upload(client, [chat_line("a")])
        emulator.inject_fault("POST", "/batches", status="drop", count=1)
        emulator.inject_fault("GET", "/batches", status=503, count=2)
        batch = client.batches.create(
            input_file_id=source.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        assert wait(client, batch.id).status == "completed"
        # A dropped create never reached the handler, so exactly one batch exists.
        assert [b.id for b in client.batches.list()] == [batch.id]
    assert emulator.runtime.faults.pending() == []


def test_faults_match_method_and_path_prefix(emulator: Emulator) -> None:
    emulator.inject_fault("POST", "/batches/", status=500, count=5)  # only batch sub-routes (cancel)
    with emulator.client(max_retries=0) as client:
        assert client.files.list().data == []
        assert client.batches.list().data == []  # GET, and not under /batches/
        with pytest.raises(openai.InternalServerError):
            client.batches.cancel("batch_x")
    emulator.clear_faults()
    assert emulator.runtime.faults.pending() == []


def test_fault_arguments_are_checked(emulator: Emulator) -> None:
    for bad, problem in (
        ({"status": 418}, "status"),
        ({"count": 0}, "count"),
        ({"retry_after": -1}, "retry_after"),
    ):
        kwargs: dict[str, Any] = {"status": 500, **bad}
        with pytest.raises(ValueError, match=problem):
            emulator.inject_fault("GET", "/files", **kwargs)
    with pytest.raises(ValueError, match="start with '/'"):
        emulator.inject_fault("GET", "files")


def test_control_routes_over_http(emulator: Emulator) -> None:
    control = f"{emulator.url}/_emulator"
    assert httpx.get(f"{control}/health").json() == {"status": "ok"}
    assert httpx.get(f"{control}/settings").json()["requests_per_second"] == 1000.0

    changed = httpx.patch(f"{control}/settings", json={"requests_per_second": 3, "fail_custom_ids": "^x"})
    assert changed.status_code == 200
    assert (changed.json()["requests_per_second"], changed.json()["fail_custom_ids"]) == (3.0, "^x")
    assert emulator.settings.requests_per_second == 3.0
    for bad in ({"nope": 1}, {"requests_per_second": -1}, {"fail_custom_ids": "("}, [1]):
        refused = httpx.patch(f"{control}/settings", json=bad)
        assert refused.status_code == 400
        assert set(refused.json()["error"]) == ERROR_KEYS

    armed = httpx.post(
        f"{control}/faults", json={"method": "get", "path": "/files", "status": 502, "count": 2}
    )
    assert armed.json() == {"method": "GET", "path": "/files", "status": 502, "count": 2}
    assert (
        httpx.post(f"{control}/faults", json={"method": "GET", "path": "/files", "status": 999}).status_code
        == 400
    )
    assert len(httpx.get(f"{control}/faults").json()["data"]) == 1
    with emulator.client(max_retries=0) as client, pytest.raises(openai.InternalServerError):
        client.files.list()
    assert httpx.get(f"{control}/faults").json()["data"][0]["remaining"] == 1
    assert httpx.delete(f"{control}/faults").json() == {"data": []}
    with emulator.client(max_retries=0) as client:
        assert client.files.list().data == []


def test_settings_are_validated(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="unknown emulator setting"):
        emulator.configure(speed=1)
    with pytest.raises(ValueError, match="regular expression"):
        emulator.configure(fail_custom_ids="[")
    with pytest.raises(ValueError, match=">= 1"):
        emulator.configure(max_requests=0)
    assert emulator.configure(fail_custom_ids=None).fail_custom_ids is None


def test_a_late_answer_comes_after_the_work_is_done(emulator: Emulator) -> None:
    """ "late": the create is done at once (the batch is listed) while its answer is still held back."""
    with emulator.client(max_retries=0) as client:
        source = upload(client, [chat_line("a")])
        emulator.inject_fault("POST", "/batches", status="late", delay=30)

        async def create_and_look() -> tuple[list[Any], bool]:
            async with openai.AsyncOpenAI(
                base_url=emulator.base_url, api_key=emulator.api_key, max_retries=0
            ) as late:
                creating = asyncio.create_task(
                    late.batches.create(
                        input_file_id=source.id, endpoint="/v1/chat/completions", completion_window="24h"
                    )
                )
                listed = await asyncio.to_thread(
                    wait_until, lambda: client.batches.list().data, timeout=20, what="the batch, listed"
                )
                answered = creating.done()
                creating.cancel()  # its answer is 30 s away
                return listed, answered

        listed, answered = asyncio.run(create_and_look())
    assert len(listed) == 1
    assert listed[0].input_file_id == source.id
    assert not answered


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"status": "late"}, 'delay (seconds) is given with status "late", and only with it'),
        ({"status": 500, "delay": 1}, 'delay (seconds) is given with status "late", and only with it'),
        ({"status": "late", "delay": -1}, "delay must be a non-negative number of seconds, got -1"),
    ],
)
def test_a_late_fault_needs_its_delay(emulator: Emulator, settings: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        emulator.inject_fault("POST", "/batches", **settings)
