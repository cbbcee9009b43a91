"""What the suites add to pytest-recording: scrubbing, boundary-free matching, compaction, strict replay.

These run a small HTTP server that answers like OpenAI does at its worst (cookies, organization and
request-id headers, keys echoed in gzip bodies), record the official SDK talking to it with the
suites' own vcrpy settings (the `vcr_config` fixture and `pytest_recording_configure` hook of
conftest.py, applied the way pytest-recording applies them), then replay with the server gone and
the network blocked. The server listens on a Unix socket, so this file passes in a network namespace
without even a loopback interface (`unshare -rn`).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import openai
import pytest
import vcr.errors
from pytest_recording.network import blocking_context
from vcr import VCR
from vcr.persisters.filesystem import FilesystemPersister
from vcr.request import Request
from vcr.serializers import yamlserializer

from integration.support import matchers
from integration.support.compact import CompactingPersister, compact_interactions
from integration.support.replay import PlayLog
from integration.support.scrub import (
    EMULATOR_ORIGIN,
    OPENAI_ORIGIN,
    find_leaks,
    request_scrubber,
    response_scrubber,
    scrub_text,
)
from integration.support.target import REPLAY_API_KEY, Target, record_kind
from tests.support.sdk_http import sdk_http

pytest_plugins = ("pytester",)

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


UseCassette = Callable[[str], Any]


@pytest.fixture
def cassette(pytestconfig: pytest.Config, vcr_config: dict[str, Any], tmp_path: Path) -> UseCassette:
    """`cassette(record_mode)`: tmp_path/chain.yaml with the suites' settings, set up as pytest-recording does."""

    def use(record_mode: str) -> Any:
        recorder = VCR(cassette_library_dir=str(tmp_path), record_mode=record_mode)
        pytestconfig.hook.pytest_recording_configure(config=pytestconfig, vcr=recorder)
        return recorder.use_cassette("chain.yaml", **vcr_config)

    return use


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
def test_record_scrubs_then_replays_offline(
    live_server: str, cassette: UseCassette, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flavour: str
) -> None:
    def chain(socket_path: str | None) -> tuple[str, bytes]:
        if flavour == "sync":
            return _sync_chain(socket_path)
        return asyncio.run(_async_chain(socket_path))

    with cassette("new_episodes") as recording:
        live = chain(live_server)
    # The SDK's own transport was intercepted: both requests went through the cassette.
    assert len(recording) == 2
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
    with blocking_context(), cassette("none") as replay:
        played = PlayLog(replay, monkeypatch)
        replayed = chain(None)
    played.check()
    assert replayed[0] == live[0]
    assert b"<redacted-key>" in replayed[1]


def test_replay_refuses_a_request_it_has_not_recorded(live_server: str, cassette: UseCassette) -> None:
    with cassette("new_episodes"):
        _sync_chain(live_server)
    client = openai.OpenAI(base_url=BASE_URL, api_key="k", max_retries=0)
    with (
        blocking_context(),
        cassette("none"),
        pytest.raises(Exception) as raised,  # noqa: PT011  (older SDKs wrap it in APIConnectionError)
    ):
        client.files.create(file=("requests.jsonl", REQUESTS + REQUESTS), purpose="batch")
    chain = [raised.value, raised.value.__cause__, raised.value.__context__]
    refusals = [e for e in chain if isinstance(e, vcr.errors.CannotOverwriteExistingCassetteException)]
    assert refusals, f"expected vcrpy to refuse the request, got {raised.value!r}"
    assert re.search(r"body.*(differ|assertion)", str(refusals[0]))


def test_replay_checks_catch_unplayed_and_reordered_interactions(
    live_server: str, cassette: UseCassette, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cassette("new_episodes"):
        file_id, _ = _sync_chain(live_server)
    client = openai.OpenAI(base_url=BASE_URL, api_key="k", max_retries=0)

    with blocking_context(), cassette("none") as replay:
        played = PlayLog(replay, monkeypatch)
        client.files.create(file=("requests.jsonl", REQUESTS), purpose="batch")
    with pytest.raises(AssertionError, match=r"played interactions \[0\] of the 2 recorded"):
        played.check()

    with blocking_context(), cassette("none") as replay:
        played = PlayLog(replay, monkeypatch)
        client.files.content(file_id).read()
        client.files.create(file=("requests.jsonl", REQUESTS), purpose="batch")
    with pytest.raises(AssertionError, match=r"played interactions \[1, 0\] of the 2 recorded"):
        played.check()


@pytest.mark.block_network
def test_the_block_network_mark_refuses_connections_in_replay() -> None:
    with pytest.raises(RuntimeError, match="Network is disabled"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)


def _multipart(boundary: str, content: bytes, filename: str = "requests.jsonl") -> Request:
    body = (
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
    return Request("POST", f"{BASE_URL}/files", body, {})


def _json(body: bytes) -> Request:
    return Request("POST", f"{BASE_URL}/batches", body, {})


def test_multipart_bodies_match_whatever_their_boundary() -> None:
    matchers.body(_multipart("5f8e2a1c9b7d4e3f", REQUESTS), _multipart("0a1b2c3d4e5f6a7b", REQUESTS))
    with pytest.raises(AssertionError, match="request bodies differ"):
        matchers.body(
            _multipart("5f8e2a1c9b7d4e3f", REQUESTS), _multipart("0a1b2c3d4e5f6a7b", REQUESTS + REQUESTS)
        )


def test_random_flytekit_file_names_match_and_chosen_names_do_not() -> None:
    matchers.body(
        _multipart(
            "5f8e2a1c9b7d4e3f", REQUESTS, "openai-batch-jobs-6ca19c54f2d8e5200fa4a9be354e77cb~est-1.jsonl"
        ),
        _multipart(
            "0a1b2c3d4e5f6a7b", REQUESTS, "openai-batch-jobs-0123456789abcdef0123456789abcdef~est-1.jsonl"
        ),
    )
    with pytest.raises(AssertionError):
        matchers.body(_multipart("x1", REQUESTS, "a.jsonl"), _multipart("x1", REQUESTS, "b.jsonl"))
    with pytest.raises(AssertionError):  # the token tag after the random name is compared
        matchers.body(
            _multipart("x1", REQUESTS, "openai-batch-jobs-6ca19c54f2d8e5200fa4a9be354e77cb~est-1.jsonl"),
            _multipart("x1", REQUESTS, "openai-batch-jobs-6ca19c54f2d8e5200fa4a9be354e77cb~est-2.jsonl"),
        )


def test_json_bodies_match_as_data_and_no_further() -> None:
    matchers.body(_json(b'{"a": 1, "b": [1, 2]}'), _json(b'{"b": [1, 2], "a": 1}'))
    with pytest.raises(AssertionError):
        matchers.body(_json(b'{"a": 1, "b": [2, 1]}'), _json(b'{"b": [1, 2], "a": 1}'))
    with pytest.raises(AssertionError):
        matchers.body(_json(b""), _json(b"{}"))


def test_scrubbing_keeps_ordinary_words_and_removes_keys() -> None:
    text = f"task-1 risk-free org-chart {LIVE_KEY} {LIVE_ORG} Bearer abc.def http://127.0.0.1:8123/v1/files"
    scrubbed = scrub_text(text, ["my-exact-secret"])
    assert scrubbed.startswith("task-1 risk-free org-chart <redacted-key> <redacted-org> Bearer <redacted>")
    assert scrubbed.endswith(f"{EMULATOR_ORIGIN}/v1/files")
    assert scrub_text("x my-exact-secret y", ["my-exact-secret"]) == "x <redacted-key> y"
    assert find_leaks(scrubbed) == []
    assert {leak.split(":")[0] for leak in find_leaks(text)} == {
        "bearer token",
        "sk- key",
        "organization id",
        "loopback address",
    }


def test_scrubbers_drop_identifying_headers_and_fix_length() -> None:
    request = Request(
        "POST",
        "http://127.0.0.1:9999/v1/batches",
        json.dumps({"note": LIVE_KEY}).encode(),
        {
            "Authorization": f"Bearer {LIVE_KEY}",
            "OpenAI-Organization": LIVE_ORG,
            "Content-Type": "application/json",
            "Cookie": "a=b",
        },
    )
    request = request_scrubber([LIVE_KEY])(request)
    assert dict(request.headers) == {"Content-Type": "application/json"}
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


def _interaction(i: int, method: str, uri: str, status: str | None, code: int = 200) -> tuple[Request, Any]:
    body = json.dumps({"id": "batch_1", "status": status}) if status else "{}"
    response = {"status": {"code": code, "message": "OK"}, "headers": {}, "body": {"string": body}}
    return Request(method, uri, str(i), {}), response


POLL = f"{BASE_URL}/batches/batch_1"


def test_compaction_keeps_each_status_stretch_ends_and_everything_else() -> None:
    statuses = [
        ("POST", f"{BASE_URL}/batches", "validating", 200),
        *[("GET", POLL, "validating", 200)] * 3,
        *[("GET", POLL, "in_progress", 200)] * 5,
        ("GET", POLL, None, 429),
        *[("GET", POLL, "in_progress", 200)] * 2,
        ("POST", f"{POLL}/cancel", "cancelling", 200),
        ("GET", POLL, "cancelled", 200),
    ]
    recorded = [_interaction(i, *answer) for i, answer in enumerate(statuses)]
    kept = [int(request.body) for request, _ in compact_interactions(recorded)]
    assert kept == [0, 1, 3, 4, 8, 9, 10, 11, 12, 13]


def test_the_persister_saves_compacted_and_loads_as_is(tmp_path: Path) -> None:
    polls = [_interaction(i, "GET", POLL, "in_progress") for i in range(6)]
    persister = CompactingPersister(FilesystemPersister)
    path = tmp_path / "c.yaml"
    persister.save_cassette(
        path,
        {"requests": [r for r, _ in polls], "responses": [r for _, r in polls]},
        serializer=yamlserializer,
    )
    requests, _ = persister.load_cassette(path, serializer=yamlserializer)
    assert [request.body for request in requests] == [b"0", b"5"]


def test_replay_points_the_plugin_at_the_recorded_origin() -> None:
    emulated = Target.replaying(f"{EMULATOR_ORIGIN}/v1/files")
    assert (emulated.kind, emulated.base_url) == ("emulator", f"{EMULATOR_ORIGIN}/v1")
    real = Target.replaying(f"{OPENAI_ORIGIN}/v1/files")
    # None: the SDK's default, https://api.openai.com/v1, as when the cassette was recorded.
    assert (real.kind, real.base_url, real.api_key) == ("openai", None, REPLAY_API_KEY)
    assert not real.recording


def test_recording_goes_to_openai_only_with_a_key_and_no_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert record_kind() == "emulator"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    assert record_kind() == "openai"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    assert record_kind() == "emulator"


def test_record_alias_and_openai_recording_skip_the_emulator_scenarios(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--record` is `--record-mode=rewrite`; on OpenAI, knob scenarios skip before their cassette is touched."""
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makepyfile(
        test_inner="""
        import pytest

        pytestmark = pytest.mark.vcr

        @pytest.mark.emulator("a knob", requests_per_second=4)
        def test_knob():
            raise AssertionError("must not run when recording against OpenAI")

        def test_plain(record_mode, request):
            assert record_mode == "rewrite"
            assert request.node.get_closest_marker("timeout").args == (6 * 3600,)
        """
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    result = pytester.runpytest_inprocess("--record", "-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*needs the emulator to record (a knob)*"])
    assert not (pytester.path / "cassettes").exists(), "a skipped or offline scenario wrote a cassette"
