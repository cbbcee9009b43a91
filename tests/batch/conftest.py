"""Fixtures of the batch suite: request files on an emulator, a connector service for job tests."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import openai
import pytest

from .service import ConnectorService


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
def input_file_id(openai_client: openai.OpenAI) -> str:
    return upload_requests(openai_client)


@pytest.fixture(scope="module")
def job_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectorService]:
    """One `pyflyte serve connector` service for a module of job tests; each test names its own
    emulator in the task's base_url."""
    running = ConnectorService(
        tmp_path_factory.mktemp("service"), {"FLYTE_OPENAI_API_KEY": "sk-emulator"}
    ).start()
    yield running
    running.stop()
