"""HTTP fault injection: make the next N calls to (method, path prefix) fail the way a real API can,
or answer late.

The middleware sits outside everything else (before authentication), like a load balancer in front of
the real service would.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from dataclasses import asdict, dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import status_error
from ..files.store import new_id

FAULT_KINDS: tuple[int | str, ...] = (429, 500, 502, 503, "drop", "late")


def _api_path(path: str) -> str:
    """`/v1/files` and `/files` name the same route."""
    path = "/" + path.lstrip("/")
    return path[3:] or "/" if path == "/v1" or path.startswith("/v1/") else path


@dataclass
class Fault:
    method: str
    path: str
    status: int | str
    remaining: int
    retry_after: float | None = None
    delay: float | None = None  # "late": how long the answer is held

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and _api_path(path).startswith(_api_path(self.path))


class FaultInjector:
    """Armed faults, consumed first come first served; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def inject(
        self,
        method: str,
        path: str,
        status: int | str = 500,
        count: int = 1,
        retry_after: float | None = None,
        delay: float | None = None,
    ) -> Fault:
        if status not in FAULT_KINDS:
            kinds = ", ".join(map(str, FAULT_KINDS))
            raise ValueError(f"fault status must be one of {kinds}, got {status!r}")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError(f"fault count must be a positive integer, got {count!r}")
        if retry_after is not None and (not isinstance(retry_after, int | float) or retry_after < 0):
            raise ValueError(f"retry_after must be a non-negative number of seconds, got {retry_after!r}")
        if (status == "late") != (delay is not None):
            raise ValueError('delay (seconds) is given with status "late", and only with it')
        if delay is not None and (not isinstance(delay, int | float) or delay < 0):
            raise ValueError(f"delay must be a non-negative number of seconds, got {delay!r}")
        if not path.startswith("/"):
            raise ValueError(f"fault path must start with '/', got {path!r}")
        fault = Fault(method.upper(), path, status, count, retry_after, delay)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def take(self, method: str, path: str) -> Fault | None:
        """The fault this call triggers, if any (and count it as used)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None


class FaultMiddleware:
    """Outermost layer: `drop` needs uvicorn's own `send` (see `_drop`), not a wrapper of it."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_emulator"):
            await self.app(scope, receive, send)
            return
        fault = self.injector.take(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.status == "drop":
            await _drop(send)
        elif fault.status == "late":
            await self.app(scope, receive, _held(send, fault.delay or 0.0))
        else:
            await _answer(fault, send)


async def _answer(fault: Fault, send: Send) -> None:
    assert isinstance(fault.status, int)
    payload = json.dumps(status_error(fault.status)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"x-request-id", new_id("req_", 32, hexadecimal=True).encode()),
    ]
    if fault.retry_after is not None:
        headers.append((b"retry-after", str(math.ceil(fault.retry_after)).encode()))
        headers.append((b"retry-after-ms", str(round(fault.retry_after * 1000)).encode()))
    await send({"type": "http.response.start", "status": fault.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _held(send: Send, delay: float) -> Send:
    """`send`, with the answer held back `delay` seconds once the call has done its work."""

    async def held(message: Any) -> None:
        if message["type"] == "http.response.start":
            await asyncio.sleep(delay)
        await send(message)

    return held


async def _drop(send: Send) -> None:
    """Close the client's socket without a byte of response, as a crashed proxy would.

    ASGI has no verb for this; uvicorn's `send` is a method of the request cycle that owns the transport.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("cannot drop the connection: the server does not expose its transport")
    transport.close()
    # Let uvicorn notice the disconnection, so it does not try to answer a 500 on the closed socket.
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0.001)
