"""The OpenAI Batch task and its async connector (agent).

flytekit imports this package at `import flytekit` (entry point `flytekit.plugins`), which registers
the connectors of `openai-batch` and `openai-batch-job` tasks, so `pyflyte serve connector|agent`
and local runs find them. The task modules are loaded on first use, keeping that import cheap.
"""

from __future__ import annotations

from typing import Any

from .connector import BatchEndpointAgent, BatchEndpointConnector
from .job_connector import BatchJobAgent, BatchJobConnector
from .job_meta import BatchJobMetadata
from .resource_meta import BatchEndpointMetadata

__all__ = [
    "BatchEndpointAgent",
    "BatchEndpointConnector",
    "BatchEndpointMetadata",
    "BatchEndpointTask",
    "BatchJobAgent",
    "BatchJobConnector",
    "BatchJobMetadata",
    "BatchJobTask",
]


def __getattr__(name: str) -> Any:
    if name == "BatchEndpointTask":
        from .task import BatchEndpointTask

        return BatchEndpointTask
    if name == "BatchJobTask":
        from .job_task import BatchJobTask

        return BatchJobTask
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
