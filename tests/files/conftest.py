"""Fixtures of the files tests: the task config pointed at the per-test emulator, and its secret."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from flytekit import Secret

from flytekitplugins.openai.files import BatchResult, OpenAIFileConfig
from tests.support.waiting import wait_until

# A group and key of our own, so a developer's OPENAI_API_KEY can never stand in for the secret.
SECRET = Secret(group="tests", key="openai_key")
SECRET_ENV = "_FSEC_TESTS_OPENAI_KEY"
TERMINAL = {"completed", "failed", "expired", "cancelled"}


@pytest.fixture
def api_key(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The emulator's key, provided the way Flyte injects secrets into a task's environment."""
    monkeypatch.setenv(SECRET_ENV, emulator.api_key)
    return str(emulator.api_key)


@pytest.fixture
def files_config(emulator: Any, api_key: str) -> OpenAIFileConfig:
    return OpenAIFileConfig(SECRET, base_url=emulator.base_url, max_retries=2)


def file_ids(client: Any) -> set[str]:
    return {f.id for f in client.files.list()}


def run_batch(client: Any, path: Path, endpoint: str = "/v1/chat/completions") -> dict[str, Any]:
    """Upload ``path`` directly and run it as a batch to the end; returns the batch as the batch task would."""
    with open(path, "rb") as stream:
        uploaded = client.files.create(file=stream, purpose="batch")
    return run_uploaded(client, uploaded.id, endpoint)


def run_uploaded(client: Any, file_id: str, endpoint: str = "/v1/chat/completions") -> dict[str, Any]:
    """Run an uploaded request file as a batch to the end; returns the batch as the batch task would."""
    batch = client.batches.create(input_file_id=file_id, endpoint=endpoint, completion_window="24h")
    batch = wait_until(
        functools.partial(client.batches.retrieve, batch.id),
        until=lambda b: b.status in TERMINAL,
        what=f"batch {batch.id} to end",
    )
    return dict(batch.model_dump(mode="json"))


def assert_downloaded(result: BatchResult, batch: dict[str, Any], client: Any) -> None:
    """The download task's result files hold exactly the batch's output and error files."""
    assert result.output_file is not None
    assert result.error_file is not None
    for local, file_id in (
        (result.output_file, batch["output_file_id"]),
        (result.error_file, batch["error_file_id"]),
    ):
        assert Path(local.download()).read_bytes() == client.files.content(file_id).read()
