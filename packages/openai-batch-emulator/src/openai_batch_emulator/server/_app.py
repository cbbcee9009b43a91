"""The ASGI application: the routes (see `_routes`) inside the middlewares, with OpenAI-shaped errors.

From the outside in: fault injection (before authentication, as a load balancer in front of the real
service), request ids, authentication, then the routes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from ..errors import ApiError, error_body
from ..faults.injector import FaultMiddleware
from ._middleware import AuthMiddleware, RequestIdMiddleware
from ._routes import api_routes, control_routes
from ._runtime import Runtime

log = logging.getLogger(__name__)


def create_app(runtime: Runtime) -> ASGIApp:
    engine = runtime.engine

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine.start()
        try:
            yield
        finally:
            engine.stop()

    app = Starlette(
        routes=[*api_routes(runtime), *control_routes(runtime)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    return FaultMiddleware(RequestIdMiddleware(AuthMiddleware(app, runtime.api_key)), runtime.faults)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (404, 405):
        message = f"Invalid URL ({request.method} {request.url.path})"
        return JSONResponse(error_body(message), status_code=404)
    return JSONResponse(error_body(str(exc.detail)), status_code=exc.status_code)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error answering %s %s", request.method, request.url.path, exc_info=exc)
    message = "The server had an error while processing your request."
    return JSONResponse(error_body(message, type="server_error"), status_code=500)
