"""What a request asks, read from its body: its texts, and its estimated prompt tokens.

One estimate serves everywhere (`tokens`, `prompt_tokens`): about one token per four characters, plus 4
per chat message or responses input item. A successful answer reports it as its prompt (input) tokens,
and a batch's validation adds it up as the tokens the batch enqueues.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def tokens(text: str) -> int:
    return (len(text) + 3) // 4


def text_of(content: Any) -> str:
    """Plain text of a message content: a string or a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [part.get("text", "") for part in content if isinstance(part, dict)]
        return " ".join(text for text in texts if isinstance(text, str))
    return ""


def chat_prompt(body: dict[str, Any]) -> int:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    return sum(tokens(text_of(m.get("content"))) + 4 for m in messages if isinstance(m, dict))


def completion_prompts(body: dict[str, Any]) -> list[str]:
    """The prompts a completion request holds: one string, several, or one given as tokens."""
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and prompt and not all(isinstance(p, int) for p in prompt):
        return [p if isinstance(p, str) else json.dumps(p) for p in prompt]
    return [] if prompt is None else [json.dumps(prompt)]


def embedding_inputs(body: dict[str, Any]) -> list[str]:
    given = body.get("input")
    if given is None or given == "" or given == []:
        return []
    if isinstance(given, list) and not all(isinstance(x, int) for x in given):
        return [x if isinstance(x, str) else json.dumps(x) for x in given]
    return [given if isinstance(given, str) else json.dumps(given)]


def response_prompt(body: dict[str, Any]) -> int:
    given = body.get("input")
    if isinstance(given, str):
        counted = tokens(given) + 4
    elif isinstance(given, list):
        counted = sum(tokens(text_of(i.get("content"))) + 4 for i in given if isinstance(i, dict))
    else:
        counted = 0
    instructions = body.get("instructions")
    return counted + (tokens(instructions) if isinstance(instructions, str) else 0)


def moderation_inputs(body: dict[str, Any]) -> list[str]:
    given = body.get("input")
    if given is None:
        return []
    return [
        i if isinstance(i, str) else json.dumps(i) for i in (given if isinstance(given, list) else [given])
    ]


def media_prompt(body: dict[str, Any]) -> int:
    """An image or video request's prompt tokens."""
    prompt = body.get("prompt")
    return tokens(prompt) if isinstance(prompt, str) else 0


def _total(texts: Callable[[dict[str, Any]], list[str]]) -> Callable[[dict[str, Any]], int]:
    return lambda body: sum(tokens(text) for text in texts(body))


_PROMPT_ESTIMATES: dict[str, Callable[[dict[str, Any]], int]] = {
    "/v1/chat/completions": chat_prompt,
    "/v1/completions": _total(completion_prompts),
    "/v1/embeddings": _total(embedding_inputs),
    "/v1/responses": response_prompt,
    "/v1/moderations": _total(moderation_inputs),
    "/v1/images/generations": media_prompt,
    "/v1/images/edits": media_prompt,
    "/v1/videos": media_prompt,
}


def prompt_tokens(endpoint: str, body: dict[str, Any]) -> int:
    """The estimated prompt tokens of one request: what a successful answer reports as its prompt
    (input) tokens, and what the request adds to its model's enqueued tokens."""
    estimate = _PROMPT_ESTIMATES.get(endpoint)
    return estimate(body) if estimate is not None else 0
