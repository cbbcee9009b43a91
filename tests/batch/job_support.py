"""Inputs of job tests: parts on an emulator, and the emulator's token estimate of a part."""

from __future__ import annotations

import io
import json

import openai

from openai_batch_emulator.responders import prompt_tokens

ENDPOINT = "/v1/chat/completions"


def request_lines(part: int, count: int, url: str = ENDPOINT) -> list[dict[str, object]]:
    return [
        {
            "custom_id": f"part{part}-request-{i}",
            "method": "POST",
            "url": url,
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Say {part} {i}"}]},
        }
        for i in range(count)
    ]


def upload_parts(client: openai.OpenAI, parts: int, count: int = 3, bad_part: int | None = None) -> list[str]:
    """Upload `parts` files of `count` chat requests; `bad_part`'s requests name another endpoint, so its
    batch fails validating (bad input)."""
    ids = []
    for part in range(parts):
        lines = request_lines(part, count, "/v1/embeddings" if part == bad_part else ENDPOINT)
        data = "".join(json.dumps(line) + "\n" for line in lines).encode()
        ids.append(client.files.create(file=(f"part{part}.jsonl", io.BytesIO(data)), purpose="batch").id)
    return ids


def part_tokens(count: int = 3) -> int:
    """The enqueued tokens of one part as `upload_parts` writes it (the emulator's own estimate)."""
    return sum(prompt_tokens(ENDPOINT, line["body"]) for line in request_lines(0, count))  # type: ignore[arg-type]
