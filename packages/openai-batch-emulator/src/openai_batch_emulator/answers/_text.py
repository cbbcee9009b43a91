"""The text endpoints' answers: chat completions, completions and responses echo the input.

Each parses as the SDK's type (ChatCompletion, Completion, Response); `max_tokens` and its kin cut the
echo and set the finish reason a real model would give.
"""

from __future__ import annotations

import json
from typing import Any

from .prompts import chat_prompt, completion_prompts, response_prompt, text_of, tokens
from .reply import Context, Reply, missing

SYSTEM_FINGERPRINT = "fp_emulator"


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
        return missing("messages")
    prompt = chat_prompt(body)
    user_texts = [
        text_of(m.get("content")) for m in messages if isinstance(m, dict) and m.get("role") == "user"
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
    head = {"id": "chatcmpl-" + ctx.seed[:29], "object": "chat.completion"}
    return _completion_reply(head, body, ctx, choices, prompt, completion_tokens, service_tier="default")


def _completion_reply(
    head: dict[str, str],
    body: dict[str, Any],
    ctx: Context,
    choices: list[dict[str, Any]],
    prompt: int,
    completion: int,
    **extra: str,
) -> Reply:
    """A chat completion's or a completion's answer: `head` (its id and object) and what they share."""
    answer = {
        **head,
        "created": ctx.created,
        "model": body["model"],
        "choices": choices,
        "usage": _completion_usage(prompt, completion),
        **extra,
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    return Reply(200, answer, prompt, completion)


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
    prompts = completion_prompts(body)
    if not prompts:
        return missing("prompt")
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
    head = {"id": "cmpl-" + ctx.seed[:29], "object": "text_completion"}
    return _completion_reply(head, body, ctx, choices, prompt_count, completion_tokens)


def _response_input_text(given: Any) -> str:
    if isinstance(given, str):
        return given
    if isinstance(given, list):
        items = [item for item in given if isinstance(item, dict) and item.get("role", "user") == "user"]
        if items:
            return text_of(items[-1].get("content"))
    return ""


def response(body: dict[str, Any], ctx: Context) -> Reply:
    said = _response_input_text(body.get("input"))
    instructions = body.get("instructions") if isinstance(body.get("instructions"), str) else None
    text, finish = _limit(f"Echo: {said}", body.get("max_output_tokens"))
    input_tokens = response_prompt(body)
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
