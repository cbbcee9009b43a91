"""The recording machinery itself: scrubbing, boundary-free matching, the network guard, both SDK transports.

These run a small HTTP server that answers like OpenAI does at its worst (cookies, organization and
request-id headers, keys echoed in gzip bodies), record the official SDK talking to it, then replay
with the server gone and the network blocked. The server listens on a Unix socket, so this file
passes in a network namespace without even a loopback interface (`unshare -rn`).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import socket
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import openai
import pytest
import vcr.errors
from vcr.serializers import yamlserializer

from integration.support import matchers
from integration.support.compact import compact_cassette, compact_interactions
from integration.support.netguard import NetworkBlocked, network_blocked
from integration.support.recorder import (
    OPENAI_ORIGIN,
    REPLAY_API_KEY,
    PlayOrder,
    Session,
    Target,
    cassette_path,
    record_kind,
    replay_target,
    use_cassette,
)
from integration.support.scrub import (
    EMULATOR_ORIGIN,
    find_leaks,
    request_scrubber,
    response_scrubber,
    scrub_text,
)
from tests.support.sdk_http import sdk_http

LIVE_KEY = "sk-live-" + "A1b2C3d4E5f6G7h8"
LIVE_ORG = "org-" + "Zy9Xw8Vu7Ts6Rq5P"
LIVE_PROJECT = "proj_" + "Mn4Lk3Jh2Gf1Ds0A"


class _OpenAILike(BaseHTTPRequestHandler):
    """Answers /v1/files like OpenAI, with every header and echo a cassette must not keep."""

    files: dict[str, bytes]
    posts = 0

    def _send(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
        body = gzip.compress(payload)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", "__cf_bm=secret-cookie; path=/")
        self.send_header("openai-organization", LIVE_ORG)
        self.send_header("openai-project", LIVE_PROJECT)
        self.send_header("x-request-id", "req_0123456789abcdef")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        upload = self.rfile.read(length)
        type(self).posts += 1
        file_id = f"file-{type(self).posts}"
        self.files[file_id] = upload
        echo = {
            "id": file_id,
            "object": "file",
            "bytes": length,
            "created_at": 1,
            "filename": "requests.jsonl",
            "purpose": "batch",
            "status": "processed",
            "note": f"key {self.headers['Authorization']} of {LIVE_ORG} in {LIVE_PROJECT}, task-1 is fine",
        }
        self._send(200, json.dumps(echo).encode())

    def do_GET(self) -> None:
        self._send(
            200, b'{"custom_id": "task-1", "echo": "' + LIVE_KEY.encode() + b'"}\n', "application/jsonl"
        )

    def log_message(self, format: str, *args: object) -> None:
        return None


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


BASE_URL = f"{EMULATOR_ORIGIN}/v1"


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    """Path of the Unix socket the OpenAI-like server listens on."""
    handler = type("Handler", (_OpenAILike,), {"files": {}, "posts": 0})
    path = str(tmp_path / "openai.sock")
    server = _UnixHTTPServer(path, handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        server.shutdown()
        server.server_close()


REQUESTS = b'{"custom_id": "task-1", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n'


def _sync_chain(socket_path: str | None) -> tuple[str, bytes]:
    """Upload then read back a file; through the Unix socket when given, else the SDK's default transport."""
    http = (
        openai.DefaultHttpxClient(transport=sdk_http.HTTPTransport(uds=socket_path)) if socket_path else None
    )
    client = openai.OpenAI(
        base_url=BASE_URL,
        api_key=LIVE_KEY,
        organization=LIVE_ORG,
        project=LIVE_PROJECT,
        max_retries=0,
        http_client=http,
    )
    created = client.files.create(file=("requests.jsonl", REQUESTS), purpose="batch")
    return created.id, client.files.content(created.id).read()


async def _async_chain(socket_path: str | None) -> tuple[str, bytes]:
    http = (
        openai.DefaultAsyncHttpxClient(transport=sdk_http.AsyncHTTPTransport(uds=socket_path))
        if socket_path
        else None
    )
    client = openai.AsyncOpenAI(
        base_url=BASE_URL, api_key=LIVE_KEY, organization=LIVE_ORG, max_retries=0, http_client=http
    )
    created = await client.files.create(file=("requests.jsonl", REQUESTS), purpose="batch")
    content = await client.files.content(created.id)
    return created.id, content.read()


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_record_scrubs_then_replays_offline(live_server: str, tmp_path: Path, flavour: str) -> None:
    def chain(socket_path: str | None) -> tuple[str, bytes]:
        if flavour == "sync":
            return _sync_chain(socket_path)
        return asyncio.run(_async_chain(socket_path))

    with use_cassette(tmp_path, "chain.yaml", "all", [LIVE_KEY]) as cassette:
        live = chain(live_server)
    # The SDK's own transport was intercepted: both requests went through the cassette.
    assert len(cassette) == 2
    assert LIVE_KEY.encode() in live[1]

    text = (tmp_path / "chain.yaml").read_text()
    assert find_leaks(text) == []
    for needle in (LIVE_KEY, LIVE_ORG, LIVE_PROJECT, "secret-cookie", "req_0123456789abcdef"):
        assert needle not in text
    lowered = text.lower()
    for header in ("authorization", "openai-organization", "openai-project", "set-cookie", "x-request-id"):
        assert f"{header}:" not in lowered
    assert "task-1 is fine" in text

    # Replay: no server, no network, and a new random multipart boundary that must still match.
    with network_blocked() as attempts, use_cassette(tmp_path, "chain.yaml", "none", []) as cassette:
        order = PlayOrder(cassette)
        replayed = chain(None)
        order.check()
        assert cassette.all_played
    assert attempts == []
    assert replayed[0] == live[0]
    assert b"<redacted-key>" in replayed[1]


def test_replay_refuses_a_request_it_has_not_recorded(live_server: str, tmp_path: Path) -> None:
    with use_cassette(tmp_path, "one.yaml", "all", [LIVE_KEY]):
        _sync_chain(live_server)
    client = openai.OpenAI(base_url=BASE_URL, api_key="k", max_retries=0)
    with (
        network_blocked(),
        use_cassette(tmp_path, "one.yaml", "none", []),
        pytest.raises(Exception) as raised,  # noqa: PT011  (older SDKs wrap it in APIConnectionError)
    ):
        client.files.create(file=("requests.jsonl", REQUESTS + REQUESTS), purpose="batch")
    chain = [raised.value, raised.value.__cause__, raised.value.__context__]
    refusals = [e for e in chain if isinstance(e, vcr.errors.CannotOverwriteExistingCassetteException)]
    assert refusals, f"expected vcrpy to refuse the request, got {raised.value!r}"
    assert re.search(r"body.*(differ|assertion)", str(refusals[0]))


def test_network_guard_refuses_and_remembers_then_restores(tmp_path: Path) -> None:
    with network_blocked() as attempts:
        with pytest.raises(NetworkBlocked):
            socket.create_connection(("127.0.0.1", 9), timeout=1)
        with pytest.raises(NetworkBlocked), socket.socket() as s:
            s.connect(("127.0.0.1", 9))
        with pytest.raises(NetworkBlocked):
            socket.getaddrinfo("api.openai.com", 443)
    assert len(attempts) == 3

    # Restored: a (Unix) socket connects again.
    path = str(tmp_path / "guard.sock")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(path)
        listener.listen(1)
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(path)


class _Req:
    def __init__(self, body: bytes) -> None:
        self.body = body


def _multipart(boundary: str, content: bytes, filename: str = "requests.jsonl") -> bytes:
    return (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )


def test_multipart_bodies_match_whatever_their_boundary() -> None:
    a = _multipart("5f8e2a1c9b7d4e3f", REQUESTS)
    b = _multipart("0a1b2c3d4e5f6a7b", REQUESTS)
    matchers.body(_Req(a), _Req(b))
    with pytest.raises(AssertionError, match="request bodies differ"):
        matchers.body(_Req(a), _Req(_multipart("0a1b2c3d4e5f6a7b", REQUESTS + REQUESTS)))


def test_random_flytekit_file_names_match_and_chosen_names_do_not() -> None:
    a = _multipart("5f8e2a1c9b7d4e3f", REQUESTS, "6ca19c54f2d8e5200fa4a9be354e77cb.jsonl")
    b = _multipart("0a1b2c3d4e5f6a7b", REQUESTS, "0123456789abcdef0123456789abcdef.jsonl")
    matchers.body(_Req(a), _Req(b))
    with pytest.raises(AssertionError):
        matchers.body(
            _Req(_multipart("x1", REQUESTS, "a.jsonl")), _Req(_multipart("x1", REQUESTS, "b.jsonl"))
        )


def test_json_bodies_match_as_data_and_no_further() -> None:
    matchers.body(_Req(b'{"a": 1, "b": [1, 2]}'), _Req(b'{"b": [1, 2], "a": 1}'))
    with pytest.raises(AssertionError):
        matchers.body(_Req(b'{"a": 1, "b": [2, 1]}'), _Req(b'{"b": [1, 2], "a": 1}'))
    with pytest.raises(AssertionError):
        matchers.body(_Req(b""), _Req(b"{}"))


def test_scrubbing_keeps_ordinary_words_and_removes_keys() -> None:
    text = f"task-1 risk-free org-chart {LIVE_KEY} {LIVE_ORG} Bearer abc.def http://127.0.0.1:8123/v1/files"
    scrubbed = scrub_text(text, ["my-exact-secret"])
    assert scrubbed.startswith("task-1 risk-free org-chart <redacted-key> <redacted-org> Bearer <redacted>")
    assert scrubbed.endswith(f"{EMULATOR_ORIGIN}/v1/files")
    assert scrub_text("x my-exact-secret y", ["my-exact-secret"]) == "x <redacted-key> y"
    assert find_leaks(scrubbed) == []
    assert {leak.split(":")[0] for leak in find_leaks(text)} == {"bearer token", "sk- key", "organization id"}


def test_scrubbers_drop_identifying_headers_and_fix_length() -> None:
    class Request:
        uri = "http://127.0.0.1:9999/v1/batches"
        headers = {
            "Authorization": f"Bearer {LIVE_KEY}",
            "OpenAI-Organization": LIVE_ORG,
            "Content-Type": "application/json",
            "Cookie": "a=b",
        }
        body = json.dumps({"note": LIVE_KEY}).encode()

    request = request_scrubber([LIVE_KEY])(Request())
    assert request.headers == {"Content-Type": "application/json"}
    assert request.uri == f"{EMULATOR_ORIGIN}/v1/batches"
    assert LIVE_KEY.encode() not in request.body

    body = json.dumps({"key": LIVE_KEY}).encode()
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {
            "Content-Length": [str(len(body))],
            "Set-Cookie": ["x"],
            "x-request-id": ["r"],
            "openai-organization": [LIVE_ORG],
        },
        "body": {"string": body},
    }
    scrubbed = response_scrubber([])(response)
    assert set(scrubbed["headers"]) == {"Content-Length"}
    assert scrubbed["headers"]["Content-Length"] == [str(len(scrubbed["body"]["string"]))]


def test_cassette_paths_are_per_module_and_test() -> None:
    path = cassette_path("integration/test_chain.py::test_chat[sync-1]")
    assert path.parts[-2:] == ("test_chain", "test_chat-sync-1.yaml")


def _interaction(method: str, uri: str, status: str | None, code: int = 200) -> dict[str, Any]:
    body = json.dumps({"id": "batch_1", "status": status}) if status else "{}"
    return {
        "request": {"method": method, "uri": uri, "body": None, "headers": {}},
        "response": {"status": {"code": code, "message": "OK"}, "headers": {}, "body": {"string": body}},
    }


def test_compaction_keeps_each_status_stretch_ends_and_everything_else() -> None:
    poll = "http://emulator.invalid/v1/batches/batch_1"
    recorded = [
        _interaction("POST", "http://emulator.invalid/v1/batches", "validating"),
        *[_interaction("GET", poll, "validating") for _ in range(3)],
        *[_interaction("GET", poll, "in_progress") for _ in range(5)],
        _interaction("GET", poll, None, code=429),
        *[_interaction("GET", poll, "in_progress") for _ in range(2)],
        _interaction("POST", f"{poll}/cancel", "cancelling"),
        _interaction("GET", poll, "cancelled"),
    ]
    for i, interaction in enumerate(recorded):
        interaction["request"]["body"] = str(i)
    kept = [int(i["request"]["body"]) for i in compact_interactions(recorded)]
    assert kept == [0, 1, 3, 4, 8, 9, 10, 11, 12, 13]


def test_compaction_rewrites_a_cassette_file(tmp_path: Path) -> None:
    poll = "http://emulator.invalid/v1/batches/batch_1"
    path = tmp_path / "c.yaml"
    path.write_text(
        yamlserializer.serialize(
            {"version": 1, "interactions": [_interaction("GET", poll, "in_progress") for _ in range(6)]}
        )
    )
    assert compact_cassette(path) == (6, 2)
    assert len(yamlserializer.deserialize(path.read_text())["interactions"]) == 2


def _record_chain(socket_path: str, library: Path) -> str:
    with use_cassette(library, "chain.yaml", "all", [LIVE_KEY]):
        file_id, _ = _sync_chain(socket_path)
    return file_id


def test_replay_checks_catch_unplayed_and_reordered_interactions(live_server: str, tmp_path: Path) -> None:
    file_id = _record_chain(live_server, tmp_path)
    client = openai.OpenAI(base_url=BASE_URL, api_key="k", max_retries=0)
    target = replay_target(tmp_path / "chain.yaml")

    with network_blocked() as attempts, use_cassette(tmp_path, "chain.yaml", "none", []) as cassette:
        session = Session(
            target=target, cassette=cassette, path=tmp_path, attempts=attempts, order=PlayOrder(cassette)
        )
        client.files.create(file=("requests.jsonl", REQUESTS), purpose="batch")
        with pytest.raises(AssertionError, match="1 of 2 recorded interactions were not replayed"):
            session.verify_replay()

    with network_blocked() as attempts, use_cassette(tmp_path, "chain.yaml", "none", []) as cassette:
        session = Session(
            target=target, cassette=cassette, path=tmp_path, attempts=attempts, order=PlayOrder(cassette)
        )
        client.files.content(file_id).read()
        client.files.create(file=("requests.jsonl", REQUESTS), purpose="batch")
        with pytest.raises(AssertionError, match="out of their recorded order"):
            session.verify_replay()


def test_replay_points_the_plugin_at_the_recorded_origin(live_server: str, tmp_path: Path) -> None:
    _record_chain(live_server, tmp_path)
    emulated = replay_target(tmp_path / "chain.yaml")
    assert (emulated.kind, emulated.base_url) == ("emulator", f"{EMULATOR_ORIGIN}/v1")

    openai_cassette = tmp_path / "openai.yaml"
    openai_cassette.write_text((tmp_path / "chain.yaml").read_text().replace(EMULATOR_ORIGIN, OPENAI_ORIGIN))
    real = replay_target(openai_cassette)
    # None: the SDK's default, https://api.openai.com/v1, as when the cassette was recorded.
    assert (real.kind, real.base_url) == ("openai", None)
    assert real.api_key == REPLAY_API_KEY


def test_recording_goes_to_openai_only_with_a_key_and_no_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert record_kind() == "emulator"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    assert record_kind() == "openai"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    assert record_kind() == "emulator"


def test_knob_scenarios_skip_when_recording_on_openai() -> None:
    target = Target(mode="record", kind="openai", api_key="k", base_url=None)
    with pytest.raises(pytest.skip.Exception, match="not recordable against OpenAI"):
        target.emulator_settings("a short completion window", completion_window_seconds=1)
    with pytest.raises(pytest.skip.Exception, match="not recordable against OpenAI"):
        target.inject_fault("POST", "/v1/files", status=429)
    # In replay the knobs are already in the cassette: nothing to do, nothing skipped.
    Target(mode="replay", kind="openai", api_key="k", base_url=None).emulator_settings(
        "x", fail_custom_ids="a"
    )
