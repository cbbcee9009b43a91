"""The ASGI application: OpenAI's `/v1` Files and Batch routes plus the `/_emulator` control routes."""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..answers.inference import ENDPOINTS, answer
from ..batches.engine import BatchEngine
from ..errors import ApiError, bad_request, error_body
from ..faults.injector import FaultInjector, FaultMiddleware
from ..files.api import FilesApi, _int_param
from ..files.store import DataDir, FileStore, new_id
from ..forwarding.forwarder import Forwarder
from ..forwarding.options import ForwardOptions
from ..settings import Settings

log = logging.getLogger(__name__)

MISSING_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)
WRONG_KEY = "Incorrect API key provided. This emulator was started with a specific API key."


class Runtime:
    """The emulator's state: data directory, files, batches, knobs and armed faults."""

    def __init__(
        self,
        data_dir: Path,
        *,
        api_key: str | None = None,
        settings: Settings | None = None,
        forward: ForwardOptions | None = None,
    ) -> None:
        self.api_key = api_key
        self.data = DataDir(data_dir)
        self.files = FileStore(self.data)
        self.faults = FaultInjector()
        self._settings = settings or Settings()
        self._settings_lock = threading.Lock()
        forwarder = Forwarder(forward) if forward is not None else None
        self.engine = BatchEngine(self.data, self.files, lambda: self.settings, forwarder)

    @property
    def settings(self) -> Settings:
        with self._settings_lock:
            return self._settings

    def configure(self, **changes: Any) -> Settings:
        with self._settings_lock:
            self._settings = self._settings.updated(**changes)
            return self._settings

    def close(self) -> None:
        self.engine.close()
        self.data.close()


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


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_request(
            "We could not parse the JSON body of your request. The body must be valid JSON."
        ) from None


def create_app(runtime: Runtime) -> ASGIApp:
    files = FilesApi(runtime.data, runtime.files, lambda: runtime.settings)
    engine = runtime.engine

    async def create_batch(request: Request) -> Response:
        body = await _json_body(request)
        return JSONResponse(await run_in_threadpool(engine.create, body))

    async def list_batches(request: Request) -> Response:
        limit = _int_param(request.query_params.get("limit"), "limit", default=20, low=1, high=100)
        after = request.query_params.get("after") or None
        return JSONResponse(await run_in_threadpool(lambda: engine.listing(after=after, limit=limit)))

    async def retrieve_batch(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(engine.retrieve, request.path_params["batch_id"]))

    async def cancel_batch(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(engine.cancel, request.path_params["batch_id"]))

    async def infer(request: Request) -> Response:
        body = await _json_body(request)
        return await run_in_threadpool(answer, request.url.path, body, runtime.settings)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def get_settings(request: Request) -> Response:
        return JSONResponse(runtime.settings.as_dict())

    async def change_settings(request: Request) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise bad_request("The body must be a JSON object of settings to change.")
        try:
            return JSONResponse(runtime.configure(**body).as_dict())
        except (ValueError, TypeError) as exc:
            raise bad_request(str(exc)) from None

    async def enqueued_tokens(request: Request) -> Response:
        return JSONResponse({"data": await run_in_threadpool(engine.enqueued_tokens)})

    async def list_faults(request: Request) -> Response:
        return JSONResponse({"data": runtime.faults.pending()})

    async def add_fault(request: Request) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict) or "method" not in body or "path" not in body:
            raise bad_request(
                'Expected {"method": ..., "path": ..., "status": ..., "count": ..., "retry_after": ...}.'
            )
        allowed = {"method", "path", "status", "count", "retry_after"}
        if set(body) - allowed:
            raise bad_request(f"Unknown fault fields: {', '.join(sorted(set(body) - allowed))}.")
        try:
            fault = runtime.faults.inject(**body)
        except (ValueError, TypeError) as exc:
            raise bad_request(str(exc)) from None
        return JSONResponse(
            {"method": fault.method, "path": fault.path, "status": fault.status, "count": fault.remaining}
        )

    async def clear_faults(request: Request) -> Response:
        runtime.faults.clear()
        return JSONResponse({"data": []})

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code in (404, 405):
            message = f"Invalid URL ({request.method} {request.url.path})"
            return JSONResponse(error_body(message), status_code=404)
        return JSONResponse(error_body(str(exc.detail)), status_code=exc.status_code)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error answering %s %s", request.method, request.url.path, exc_info=exc)
        message = "The server had an error while processing your request."
        return JSONResponse(error_body(message, type="server_error"), status_code=500)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine.start()
        try:
            yield
        finally:
            engine.stop()

    routes = [
        Route("/v1/files", files.upload, methods=["POST"]),
        Route("/v1/files", files.listing, methods=["GET"]),
        Route("/v1/files/{file_id}", files.retrieve, methods=["GET"]),
        Route("/v1/files/{file_id}", files.delete, methods=["DELETE"]),
        Route("/v1/files/{file_id}/content", files.content, methods=["GET"]),
        Route("/v1/batches", create_batch, methods=["POST"]),
        Route("/v1/batches", list_batches, methods=["GET"]),
        Route("/v1/batches/{batch_id}", retrieve_batch, methods=["GET"]),
        Route("/v1/batches/{batch_id}/cancel", cancel_batch, methods=["POST"]),
        *(Route(endpoint, infer, methods=["POST"]) for endpoint in ENDPOINTS),
        Route("/_emulator/health", health, methods=["GET"]),
        Route("/_emulator/settings", get_settings, methods=["GET"]),
        Route("/_emulator/settings", change_settings, methods=["PATCH", "POST"]),
        Route("/_emulator/enqueued_tokens", enqueued_tokens, methods=["GET"]),
        Route("/_emulator/faults", list_faults, methods=["GET"]),
        Route("/_emulator/faults", add_fault, methods=["POST"]),
        Route("/_emulator/faults", clear_faults, methods=["DELETE"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={ApiError: api_error, HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    return FaultMiddleware(RequestIdMiddleware(AuthMiddleware(app, runtime.api_key)), runtime.faults)
