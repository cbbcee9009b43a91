"""The synchronous model endpoints (`POST /v1/chat/completions`, `/v1/embeddings`, ...).

They answer one request at once with the very responders a batch uses for its lines, so a request gets
the same body whether it is sent alone or inside a batch, and a ChatGPT-style task runs against the
emulator with no key. Authentication, fault injection and request ids come from the middlewares that
wrap every `/v1` route (see `server._app`); errors have OpenAI's shape.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any

from starlette.responses import JSONResponse

from ..errors import bad_request
from ..settings import Settings
from .reply import Context
from .responders import RESPONDERS, respond

# Every endpoint a batch can target has a responder; each is served synchronously too.
ENDPOINTS = tuple(RESPONDERS)


def answer(endpoint: str, body: Any, settings: Settings) -> JSONResponse:
    """The answer to one request to `endpoint` (a key of RESPONDERS) with the JSON `body`."""
    if not isinstance(body, dict):
        raise bad_request("The body must be a JSON object.")
    if body.get("stream"):
        raise bad_request(
            "The emulator does not stream answers; send the request without 'stream'.", param="stream"
        )
    known_models = re.compile(settings.known_models)
    reply = respond(endpoint, body, Context(request_seed(endpoint, body), int(time.time()), known_models))
    return JSONResponse(reply.body, status_code=reply.status_code)


def request_seed(endpoint: str, body: dict[str, Any]) -> str:
    """A seed that depends only on the request, so the same request always gets the same answer."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{endpoint}\x00{canonical}".encode()).hexdigest()
