"""Deterministic stand-ins for the models: the same request always gets the same answer.

Bodies parse as the SDK's types (ChatCompletion, Completion, CreateEmbeddingResponse, Response,
ModerationCreateResponse, ImagesResponse and Video, those two from `_media`). Text answers echo the input; embeddings are unit vectors seeded by a hash of
the model and input. Token counts come from one estimate (`tokens`, `prompt_tokens`): about one per
four characters, plus 4 per chat message or responses input item.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import error_body
from . import _media

SYSTEM_FINGERPRINT = "fp_emulator"
MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)


@dataclass
class Reply:
    """What one request produced: an HTTP status, its body and the tokens it used."""

    status_code: int
    body: dict[str, Any]
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class Context:
    """What a responder may use besides the request body: a stable seed and the processing time."""

    seed: str
    created: int
    known_models: re.Pattern[str]


def tokens(text: str) -> int:
    return (len(text) + 3) // 4


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _text_of(content: Any) -> str:
    """Plain text of a message content: a string or a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [part.get("text", "") for part in content if isinstance(part, dict)]
        return " ".join(text for text in texts if isinstance(text, str))
    return ""


def _chat_prompt(body: dict[str, Any]) -> int:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    return sum(tokens(_text_of(m.get("content"))) + 4 for m in messages if isinstance(m, dict))


def _completion_prompts(body: dict[str, Any]) -> list[str]:
    """The prompts a completion request holds: one string, several, or one given as tokens."""
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and prompt and not all(isinstance(p, int) for p in prompt):
        return [p if isinstance(p, str) else json.dumps(p) for p in prompt]
    return [] if prompt is None else [json.dumps(prompt)]


def _embedding_inputs(body: dict[str, Any]) -> list[str]:
    given = body.get("input")
    if given is None or given == "" or given == []:
        return []
    if isinstance(given, list) and not all(isinstance(x, int) for x in given):
        return [x if isinstance(x, str) else json.dumps(x) for x in given]
    return [given if isinstance(given, str) else json.dumps(given)]


def _response_prompt(body: dict[str, Any]) -> int:
    given = body.get("input")
    if isinstance(given, str):
        counted = tokens(given) + 4
    elif isinstance(given, list):
        counted = sum(tokens(_text_of(i.get("content"))) + 4 for i in given if isinstance(i, dict))
    else:
        counted = 0
    instructions = body.get("instructions")
    return counted + (tokens(instructions) if isinstance(instructions, str) else 0)


def _moderation_inputs(body: dict[str, Any]) -> list[str]:
    given = body.get("input")
    if given is None:
        return []
    return [
        i if isinstance(i, str) else json.dumps(i) for i in (given if isinstance(given, list) else [given])
    ]


_PROMPT_ESTIMATES: dict[str, Callable[[dict[str, Any]], int]] = {
    "/v1/chat/completions": _chat_prompt,
    "/v1/completions": lambda body: sum(tokens(p) for p in _completion_prompts(body)),
    "/v1/embeddings": lambda body: sum(tokens(text) for text in _embedding_inputs(body)),
    "/v1/responses": _response_prompt,
    "/v1/moderations": lambda body: sum(tokens(text) for text in _moderation_inputs(body)),
    "/v1/images/generations": _media.prompt_tokens,
    "/v1/images/edits": _media.prompt_tokens,
    "/v1/videos": _media.prompt_tokens,
}


def prompt_tokens(endpoint: str, body: dict[str, Any]) -> int:
    """The estimated prompt tokens of one request: what a successful answer reports as its prompt
    (input) tokens, and what the request adds to its model's enqueued tokens."""
    estimate = _PROMPT_ESTIMATES.get(endpoint)
    return estimate(body) if estimate is not None else 0


def _client_error(message: str, *, param: str | None = None, code: str | None = None) -> Reply:
    return Reply(400, error_body(message, param=param, code=code))


def _model_error(body: dict[str, Any], ctx: Context) -> Reply | None:
    model = body.get("model")
    if model is None or model == "":
        return _client_error("you must provide a model parameter")
    if not isinstance(model, str):
        return _client_error(
            "Invalid type for 'model': expected a string.", param="model", code="invalid_type"
        )
    if not ctx.known_models.search(model):
        return Reply(
            404,
            error_body(
                f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found"
            ),
        )
    return None


def _choices(body: dict[str, Any]) -> int:
    n = body.get("n")
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1


def _limit(text: str, max_tokens: Any) -> tuple[str, str]:
    """The text cut to `max_tokens`, and the finish reason that cut implies."""
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and tokens(text) > max_tokens:
        return text[: max(0, max_tokens) * 4], "length"
    return text, "stop"


def chat_completion(body: dict[str, Any], ctx: Context) -> Reply:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _client_error(
            "Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter"
        )
    prompt = _chat_prompt(body)
    user_texts = [
        _text_of(m.get("content")) for m in messages if isinstance(m, dict) and m.get("role") == "user"
    ]
    said = user_texts[-1] if user_texts else ""
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        reply = json.dumps({"echo": said})
    else:
        reply = f"Echo: {said}"
    content, finish = _limit(reply, body.get("max_completion_tokens", body.get("max_tokens")))
    choices: list[dict[str, Any]] = [
        {
            "index": i,
            "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": finish,
        }
        for i in range(_choices(body))
    ]
    completion_tokens = tokens(content) * len(choices)
    return Reply(
        200,
        {
            "id": "chatcmpl-" + ctx.seed[:29],
            "object": "chat.completion",
            "created": ctx.created,
            "model": body["model"],
            "choices": choices,
            "usage": _completion_usage(prompt, completion_tokens),
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
        },
        prompt,
        completion_tokens,
    )


def _completion_usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def completion(body: dict[str, Any], ctx: Context) -> Reply:
    prompts = _completion_prompts(body)
    if not prompts:
        return _client_error(
            "Missing required parameter: 'prompt'.", param="prompt", code="missing_required_parameter"
        )
    choices: list[dict[str, Any]] = []
    completion_tokens = 0
    for text in prompts:
        content, finish = _limit(f"Echo: {text}", body.get("max_tokens", 16))
        for _ in range(_choices(body)):
            choices.append(
                {"text": content, "index": len(choices), "logprobs": None, "finish_reason": finish}
            )
            completion_tokens += tokens(content)
    prompt_count = sum(tokens(p) for p in prompts)
    return Reply(
        200,
        {
            "id": "cmpl-" + ctx.seed[:29],
            "object": "text_completion",
            "created": ctx.created,
            "model": body["model"],
            "choices": choices,
            "usage": _completion_usage(prompt_count, completion_tokens),
            "system_fingerprint": SYSTEM_FINGERPRINT,
        },
        prompt_count,
        completion_tokens,
    )


def embedding_vector(model: str, text: str, dimensions: int) -> list[float]:
    """A unit vector that depends only on (model, text, dimensions)."""
    rng = random.Random(int(_digest(model, text), 16))
    raw = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [round(x / norm, 8) for x in raw]


def embeddings(body: dict[str, Any], ctx: Context) -> Reply:
    inputs = _embedding_inputs(body)
    if not inputs:
        return _client_error(
            "Missing required parameter: 'input'.", param="input", code="missing_required_parameter"
        )
    model = body["model"]
    dimensions = body.get("dimensions")
    if dimensions is None:
        dimensions = 3072 if "large" in model else 1536
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1:
        return _client_error("Invalid 'dimensions': expected a positive integer.", param="dimensions")
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(inputs):
        vector = embedding_vector(model, text, dimensions)
        encoded: Any = (
            base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode() if as_base64 else vector
        )
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    prompt_count = sum(tokens(text) for text in inputs)
    return Reply(
        200,
        {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": prompt_count, "total_tokens": prompt_count},
        },
        prompt_count,
        0,
    )


def _response_input_text(given: Any) -> str:
    if isinstance(given, str):
        return given
    if isinstance(given, list):
        items = [item for item in given if isinstance(item, dict) and item.get("role", "user") == "user"]
        if items:
            return _text_of(items[-1].get("content"))
    return ""


def response(body: dict[str, Any], ctx: Context) -> Reply:
    said = _response_input_text(body.get("input"))
    instructions = body.get("instructions") if isinstance(body.get("instructions"), str) else None
    text, finish = _limit(f"Echo: {said}", body.get("max_output_tokens"))
    input_tokens = _response_prompt(body)
    output_tokens = tokens(text)
    return Reply(
        200,
        {
            "id": "resp_" + ctx.seed[:48],
            "object": "response",
            "created_at": ctx.created,
            "completed_at": ctx.created,
            "status": "completed" if finish == "stop" else "incomplete",
            "error": None,
            "incomplete_details": None if finish == "stop" else {"reason": "max_output_tokens"},
            "instructions": instructions,
            "max_output_tokens": body.get("max_output_tokens"),
            "model": body["model"],
            "output": [
                {
                    "id": "msg_" + ctx.seed[-48:],
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
                }
            ],
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "store": False,
            "temperature": body.get("temperature", 1.0),
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": [],
            "top_p": body.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input_tokens + output_tokens,
            },
            "user": None,
            "metadata": {},
        },
        input_tokens,
        output_tokens,
    )


def moderation(body: dict[str, Any], ctx: Context) -> Reply:
    inputs = _moderation_inputs(body)
    if body.get("input") is None:
        return _client_error(
            "Missing required parameter: 'input'.", param="input", code="missing_required_parameter"
        )
    results = []
    for text in inputs:
        digest = _digest(str(body.get("model")), text)
        scores = {
            name: int(digest[i * 4 : i * 4 + 4], 16) / 65535 / 1000
            for i, name in enumerate(MODERATION_CATEGORIES)
        }
        results.append(
            {
                "flagged": False,
                "categories": dict.fromkeys(MODERATION_CATEGORIES, False),
                "category_scores": scores,
                "category_applied_input_types": {name: ["text"] for name in MODERATION_CATEGORIES},
            }
        )
    input_tokens = sum(tokens(text) for text in inputs)
    return Reply(
        200,
        {"id": "modr-" + ctx.seed[:32], "model": body["model"], "results": results},
        input_tokens,
        0,
    )


def image(body: dict[str, Any], ctx: Context) -> Reply:
    status, answer, output = _media.image(body, ctx.created)
    return Reply(status, answer, _media.prompt_tokens(body) if status == 200 else 0, output)


def video(body: dict[str, Any], ctx: Context) -> Reply:
    status, answer = _media.video(body, ctx.seed, ctx.created)
    return Reply(status, answer, _media.prompt_tokens(body) if status == 200 else 0, 0)


RESPONDERS: dict[str, Callable[[dict[str, Any], Context], Reply]] = {
    "/v1/chat/completions": chat_completion,
    "/v1/completions": completion,
    "/v1/embeddings": embeddings,
    "/v1/responses": response,
    "/v1/moderations": moderation,
    "/v1/images/generations": image,
    "/v1/images/edits": image,
    "/v1/videos": video,
}


def respond(endpoint: str, body: dict[str, Any], ctx: Context) -> Reply:
    return _model_error(body, ctx) or RESPONDERS[endpoint](body, ctx)
