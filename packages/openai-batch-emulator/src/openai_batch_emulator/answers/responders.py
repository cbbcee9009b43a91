"""Deterministic stand-ins for the models: the same request always gets the same answer.

One responder per endpoint a batch can target (`RESPONDERS`); `respond` first answers an unknown or
missing model as OpenAI does. Bodies parse as the SDK's types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import error_body
from . import _media, _text, vectors
from .reply import Context, Reply, client_error

RESPONDERS: dict[str, Callable[[dict[str, Any], Context], Reply]] = {
    "/v1/chat/completions": _text.chat_completion,
    "/v1/completions": _text.completion,
    "/v1/embeddings": vectors.embeddings,
    "/v1/responses": _text.response,
    "/v1/moderations": vectors.moderation,
    "/v1/images/generations": _media.image,
    "/v1/images/edits": _media.image,
    "/v1/videos": _media.video,
}


def respond(endpoint: str, body: dict[str, Any], ctx: Context) -> Reply:
    return _model_error(body, ctx) or RESPONDERS[endpoint](body, ctx)


def _model_error(body: dict[str, Any], ctx: Context) -> Reply | None:
    model = body.get("model")
    if model is None or model == "":
        return client_error("you must provide a model parameter")
    if not isinstance(model, str):
        return client_error(
            "Invalid type for 'model': expected a string.", param="model", code="invalid_type"
        )
    if not ctx.known_models.search(model):
        message = f"The model `{model}` does not exist or you do not have access to it."
        return Reply(404, error_body(message, code="model_not_found"))
    return None
