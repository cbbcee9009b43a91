"""The layers around every route: a request id on every answer, and the API key on every `/v1` call."""

from __future__ import annotations

import secrets

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import error_body
from ..files.store import new_id

MISSING_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)
WRONG_KEY = "Incorrect API key provided. This emulator was started with a specific API key."


class RequestIdMiddleware:
    """Every answer carries an `x-request-id`, which the SDK exposes as `_request_id`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_id("req_", 32, hexadecimal=True).encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id)]}
            await send(message)

        await self.app(scope, receive, send_with_id)


class AuthMiddleware:
    """`Authorization: Bearer <key>` on every `/v1` route: any non-empty key, or exactly the configured one."""

    def __init__(self, app: ASGIApp, api_key: str | None) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1"):
            problem = self._problem(dict(scope["headers"]).get(b"authorization", b""))
            if problem is not None:
                await JSONResponse(error_body(problem[0], code=problem[1]), status_code=401)(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)

    def _problem(self, header: bytes) -> tuple[str, str | None] | None:
        scheme, _, key = header.decode("latin-1").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return MISSING_KEY, None
        if self.api_key is not None and not secrets.compare_digest(key.encode(), self.api_key.encode()):
            return WRONG_KEY, "invalid_api_key"
        return None
