"""Fixtures of the batch suite: request files on an emulator, and the connector's API key."""

from __future__ import annotations

import io
import json

import openai
import pytest

from openai_batch_emulator import Emulator


def upload_requests(client: openai.OpenAI, count: int = 3, endpoint: str = "/v1/chat/completions") -> str:
    """Upload `count` small chat requests through the SDK; returns the file id."""
    lines = [
        {
            "custom_id": f"request-{i}",
            "method": "POST",
            "url": endpoint,
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Say {i}"}]},
        }
        for i in range(count)
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    return client.files.create(file=("requests.jsonl", io.BytesIO(data)), purpose="batch").id


@pytest.fixture
def connector_key(monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> str:
    """The connector's secret, as the plain environment variable flytekit also reads."""
    monkeypatch.delenv("_FSEC_FLYTE_OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("FLYTE_OPENAI_API_KEY", emulator.api_key)
    return emulator.api_key


@pytest.fixture
def input_file_id(openai_client: openai.OpenAI) -> str:
    return upload_requests(openai_client)


@pytest.fixture
def anyio_backend() -> str:
    """The connector's coroutines run on asyncio, as in flytekit's service and local executor."""
    return "asyncio"
