"""The routes: OpenAI's `/v1` Files, Batch and model endpoints, and the `/_emulator` control routes.

Handlers run blocking work (the engine's locks and files) in the thread pool, so one slow batch does not
hold up the event loop.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._lists import int_param
from ..answers.inference import ENDPOINTS, answer
from ..errors import bad_request
from ..files.api import FilesApi
from ._runtime import Runtime

FAULT_FIELDS = ("method", "path", "status", "count", "retry_after")


async def json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_request(
            "We could not parse the JSON body of your request. The body must be valid JSON."
        ) from None


def api_routes(runtime: Runtime) -> list[Route]:
    files = FilesApi(runtime.data, runtime.files, lambda: runtime.settings)
    batches = _Batches(runtime)
    return [
        Route("/v1/files", files.upload, methods=["POST"]),
        Route("/v1/files", files.listing, methods=["GET"]),
        Route("/v1/files/{file_id}", files.retrieve, methods=["GET"]),
        Route("/v1/files/{file_id}", files.delete, methods=["DELETE"]),
        Route("/v1/files/{file_id}/content", files.content, methods=["GET"]),
        Route("/v1/batches", batches.create, methods=["POST"]),
        Route("/v1/batches", batches.listing, methods=["GET"]),
        Route("/v1/batches/{batch_id}", batches.retrieve, methods=["GET"]),
        Route("/v1/batches/{batch_id}/cancel", batches.cancel, methods=["POST"]),
        *(Route(endpoint, batches.infer, methods=["POST"]) for endpoint in ENDPOINTS),
    ]


def control_routes(runtime: Runtime) -> list[Route]:
    control = _Control(runtime)
    return [
        Route("/_emulator/health", control.health, methods=["GET"]),
        Route("/_emulator/settings", control.get_settings, methods=["GET"]),
        Route("/_emulator/settings", control.change_settings, methods=["PATCH", "POST"]),
        Route("/_emulator/enqueued_tokens", control.enqueued_tokens, methods=["GET"]),
        Route("/_emulator/faults", control.list_faults, methods=["GET"]),
        Route("/_emulator/faults", control.add_fault, methods=["POST"]),
        Route("/_emulator/faults", control.clear_faults, methods=["DELETE"]),
    ]


class _Batches:
    """The Batch API's routes, and the synchronous model endpoints that answer as a batch line would."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._engine = runtime.engine

    async def create(self, request: Request) -> Response:
        body = await json_body(request)
        return JSONResponse(await run_in_threadpool(self._engine.create, body))

    async def listing(self, request: Request) -> Response:
        limit = int_param(request.query_params.get("limit"), "limit", default=20, low=1, high=100)
        after = request.query_params.get("after") or None
        return JSONResponse(await run_in_threadpool(lambda: self._engine.listing(after=after, limit=limit)))

    async def retrieve(self, request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(self._engine.retrieve, request.path_params["batch_id"]))

    async def cancel(self, request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(self._engine.cancel, request.path_params["batch_id"]))

    async def infer(self, request: Request) -> Response:
        body = await json_body(request)
        return await run_in_threadpool(answer, request.url.path, body, self._runtime.settings)


class _Control:
    """`/_emulator`: health, settings, enqueued tokens and faults, for tests and the command line."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def get_settings(self, request: Request) -> Response:
        return JSONResponse(self._runtime.settings.as_dict())

    async def change_settings(self, request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise bad_request("The body must be a JSON object of settings to change.")
        try:
            return JSONResponse(self._runtime.configure(**body).as_dict())
        except (ValueError, TypeError) as exc:
            raise bad_request(str(exc)) from None

    async def enqueued_tokens(self, request: Request) -> Response:
        return JSONResponse({"data": await run_in_threadpool(self._runtime.engine.enqueued_tokens)})

    async def list_faults(self, request: Request) -> Response:
        return JSONResponse({"data": self._runtime.faults.pending()})

    async def add_fault(self, request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict) or "method" not in body or "path" not in body:
            raise bad_request(
                'Expected {"method": ..., "path": ..., "status": ..., "count": ..., "retry_after": ...}.'
            )
        if set(body) - set(FAULT_FIELDS):
            raise bad_request(f"Unknown fault fields: {', '.join(sorted(set(body) - set(FAULT_FIELDS)))}.")
        try:
            fault = self._runtime.faults.inject(**body)
        except (ValueError, TypeError) as exc:
            raise bad_request(str(exc)) from None
        return JSONResponse(
            {"method": fault.method, "path": fault.path, "status": fault.status, "count": fault.remaining}
        )

    async def clear_faults(self, request: Request) -> Response:
        self._runtime.faults.clear()
        return JSONResponse({"data": []})
