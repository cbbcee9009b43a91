"""An upstream of the tests' own for forwarding: a tiny HTTP/1.1 server on loopback whose answer to each
request is chosen by the test (an answer, a status, a dropped connection, or a wait), and which records
what it received — the cases a second emulator cannot play.
"""

from __future__ import annotations

import functools
import json
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
from openai.types import Batch

from openai_batch_emulator import Emulator, ForwardOptions
from tests.support.waiting import wait_until

UPSTREAM_KEY = "sk-fake-upstream-7f3a9c1e5b2d4068"  # what OPENAI_FORWARD_API_KEY holds in these tests
CLIENT_KEY = "sk-fake-client-0b8e2f6a4c1d9357"  # what clients of the forwarding server send
DEADLINE = 60.0
FAST = {"validating_seconds": 0.05, "finalizing_seconds": 0.05, "cancelling_seconds": 0.05}


@dataclass
class Act:
    """What the upstream does with one request: answer `status` (with `headers`), drop the connection,
    or wait until the test opens the gate and then answer."""

    status: int = 200
    drop: bool = False
    hold: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def chat_answer(content: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{abs(hash(content)) % 10**8}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "my-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": f"Re: {content}"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


class Upstream:
    """The test's upstream. `plan(content, attempt)` decides each answer (attempt counts from 1 per
    message content, which the tests set to the custom_id)."""

    def __init__(self, plan: Callable[[str, int], Act] = lambda content, attempt: Act()) -> None:
        self.plan = plan
        self.attempts: Counter[str] = Counter()
        self.authorizations: set[str | None] = set()
        self.gate = threading.Event()
        self.holding = 0
        self.changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.upstream = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> Upstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.gate.set()
        self._server.shutdown()
        self._server.server_close()

    def received(self) -> int:
        with self.changed:
            return sum(self.attempts.values())

    def wait_until(self, condition: Callable[[], bool], what: str) -> None:
        """Wait (bounded) until `condition()` holds; it is checked whenever a request comes or goes."""
        wait_until(condition, what=what, timeout=DEADLINE, changed=self.changed)

    def act(self, authorization: str | None, content: str) -> Act:
        with self.changed:
            self.authorizations.add(authorization)
            self.attempts[content] += 1
            act = self.plan(content, self.attempts[content])
            self.holding += act.hold
            self.changed.notify_all()
        return act

    def released(self) -> None:
        with self.changed:
            self.holding -= 1
            self.changed.notify_all()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as model servers do

    def do_POST(self) -> None:
        upstream: Upstream = self.server.upstream  # type: ignore[attr-defined]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        content = body["messages"][-1]["content"]
        act = upstream.act(self.headers.get("Authorization"), content)
        if act.hold:
            upstream.gate.wait(DEADLINE)
            upstream.released()
        if act.drop:
            self.close_connection = True
            return
        if act.status == 200:
            payload = json.dumps(chat_answer(content)).encode()
        else:
            error = {
                "message": f"upstream says {act.status}",
                "type": "server_error",
                "param": None,
                "code": None,
            }
            payload = json.dumps({"error": error}).encode()
        self.send_response(act.status)
        for name, value in {
            "Content-Type": "application/json",
            "x-request-id": f"req_up_{content}",
            **act.headers,
        }.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        with _quiet():
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def _quiet() -> Iterator[None]:
    """The forwarder may have gone (a cancel, a kill) while an answer was held: nobody to answer."""
    with suppress(BrokenPipeError, ConnectionResetError):
        yield


def free_port() -> int:
    """A loopback port nothing listens on (for an upstream that is not there)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def forwarding(url: str, tmp: Path | None = None, **options: Any) -> Emulator:
    """A forwarding emulator (not started) with short lifecycle steps and quick retries."""
    quick = {"backoff_seconds": 0.01, "max_backoff_seconds": 0.05, "attempts": 3, **options}
    settings = {**FAST, **quick.pop("settings", {})}
    # The server accepts only the clients' key: it must never pass it on.
    return Emulator(data_dir=tmp, api_key=CLIENT_KEY, forward=ForwardOptions(url=url, **quick), **settings)


def chat_lines(ids: list[str], model: str = "my-model") -> list[dict[str, Any]]:
    """Request lines whose message content is the custom_id, so the upstream can tell them apart."""
    return [
        {
            "custom_id": cid,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": model, "messages": [{"role": "user", "content": cid}]},
        }
        for cid in ids
    ]


def wait_batch(client: openai.OpenAI, batch_id: str, done: Callable[[Batch], bool], what: str) -> Batch:
    """Poll (bounded) until `done(batch)`."""
    return wait_until(
        functools.partial(client.batches.retrieve, batch_id), until=done, timeout=DEADLINE, what=what
    )


def files_contain(root: Path, secret: str) -> list[Path]:
    """Every file under `root` whose bytes contain `secret`."""
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
