"""Building request files and waiting for batches, shared by the emulator tests."""

from __future__ import annotations

import functools
import json
from typing import Any

import openai
from openai.types import Batch, FileObject

from openai_batch_emulator import Emulator
from tests.support.waiting import wait_until

FINAL = ("completed", "failed", "expired", "cancelled")


def fast(emulator: Emulator, **settings: Any) -> Emulator:
    """Shorten the lifecycle to a few tens of milliseconds (plus any other settings)."""
    quick: dict[str, Any] = {
        "validating_seconds": 0.05,
        "finalizing_seconds": 0.05,
        "cancelling_seconds": 0.05,
    }
    emulator.configure(**{**quick, **settings})
    return emulator


def chat_line(
    custom_id: str, text: str = "hello", model: str = "gpt-4o-mini", **extra: Any
) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": text}], **extra},
    }


def jsonl(lines: list[Any]) -> bytes:
    return "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines).encode()


def upload(client: openai.OpenAI, lines: list[Any], name: str = "requests.jsonl") -> FileObject:
    return client.files.create(file=(name, jsonl(lines)), purpose="batch")


def start_batch(
    client: openai.OpenAI, lines: list[Any], endpoint: str = "/v1/chat/completions", **kwargs: Any
) -> Batch:
    source = upload(client, lines)
    return client.batches.create(
        input_file_id=source.id,
        endpoint=endpoint,  # type: ignore[arg-type]
        completion_window="24h",
        **kwargs,
    )


def wait(
    client: openai.OpenAI, batch_id: str, statuses: tuple[str, ...] = FINAL, timeout: float = 60
) -> Batch:
    return wait_until(
        functools.partial(client.batches.retrieve, batch_id),
        until=lambda batch: batch.status in statuses,
        timeout=timeout,
        what=f"batch {batch_id} to reach {statuses}",
    )


def read_lines(client: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()]
