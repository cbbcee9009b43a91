"""The plugin's real tasks and connector, configured for the server of a test (emulator or OpenAI).

Nothing here stands in for plugin code: these build the same task objects a user would, and run them
the ways flytekit does locally (calling a task or workflow, or an executor on the serialized template,
or the registered connector with the template and inputs flytekit would send).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from flytekit import FlyteContextManager
from flytekit.configuration import Image, ImageConfig, SerializationSettings
from flytekit.core.type_engine import TypeEngine
from flytekit.models.literals import LiteralMap
from flytekit.models.security import Secret
from flytekit.models.task import TaskTemplate
from flytekit.tools.translator import get_serializable

from flytekitplugins.openai import (
    BatchEndpointTask,
    DownloadJSONFilesTask,
    OpenAIFileConfig,
    UploadJSONLFileTask,
)
from flytekitplugins.openai.batch._compat import lookup_connector
from openai_batch_jobs.api.batch_config import TASK_TYPE

from .target import Target

FILE_SECRET = Secret(group="openai", key="api_key")
IMAGE = "ghcr.io/flytekitplugins-openai/openai-batch-files:integration"
CHAT_MODEL = "gpt-4o-mini"
EMBEDDING_MODEL = "text-embedding-3-small"


def chat_requests(count: int, prefix: str = "chat") -> list[dict[str, Any]]:
    return [
        {
            "custom_id": f"{prefix}-{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": CHAT_MODEL,
                "messages": [{"role": "user", "content": f"Say the number {i} in words."}],
                "max_tokens": 16,
            },
        }
        for i in range(count)
    ]


def embedding_requests(count: int, prefix: str = "embed") -> list[dict[str, Any]]:
    return [
        {
            "custom_id": f"{prefix}-{i}",
            "method": "POST",
            "url": "/v1/embeddings",
            # Short vectors keep the cassettes small; text-embedding-3 models take `dimensions`.
            "body": {"model": EMBEDDING_MODEL, "input": f"sentence number {i}", "dimensions": 32},
        }
        for i in range(count)
    ]


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as sink:
        for record in records:
            sink.write(json.dumps(record) + "\n")
    return path


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as source:
        return [json.loads(line) for line in source if line.strip()]


def file_config(target: Target) -> OpenAIFileConfig:
    return OpenAIFileConfig(secret=FILE_SECRET, base_url=target.base_url)


def upload_task(target: Target, name: str = "integration-upload") -> UploadJSONLFileTask:
    return UploadJSONLFileTask(name=name, task_config=file_config(target), container_image=IMAGE)


def download_task(target: Target, name: str = "integration-download") -> DownloadJSONFilesTask:
    return DownloadJSONFilesTask(name=name, task_config=file_config(target), container_image=IMAGE)


def batch_task(
    target: Target,
    endpoint: str = "/v1/chat/completions",
    accept_partial_results: bool = False,
    name: str = "integration-batch",
) -> BatchEndpointTask:
    return BatchEndpointTask(
        name=name,
        config={"endpoint": endpoint, "completion_window": "24h", "metadata": {"suite": "integration"}},
        base_url=target.base_url,
        accept_partial_results=accept_partial_results,
    )


def serialization_settings() -> SerializationSettings:
    return SerializationSettings(
        image_config=ImageConfig(default_image=Image(name="default", fqn="x", tag="y"))
    )


def task_template(task: Any) -> TaskTemplate:
    """The template Flyte would store for `task` (what an executor or connector gets at run time)."""
    return get_serializable(OrderedDict(), serialization_settings(), task).template


def literal_inputs(task: Any, **values: Any) -> LiteralMap:
    ctx = FlyteContextManager.current_context()
    return TypeEngine.dict_to_literal_map(ctx, values, task.get_input_types())


def python_outputs(task: Any, outputs: LiteralMap) -> dict[str, Any]:
    """A connector's output literals as the task's Python values."""
    ctx = FlyteContextManager.current_context()
    return TypeEngine.literal_map_to_kwargs(ctx, outputs, task.python_interface.outputs)


def connector() -> Any:
    """The connector flytekit registered for openai-batch tasks (the one `pyflyte serve connector` runs)."""
    return lookup_connector(TASK_TYPE)


def iterate(records: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield from records
