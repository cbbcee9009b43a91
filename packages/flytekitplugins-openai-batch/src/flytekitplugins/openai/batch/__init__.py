"""The OpenAI Batch task and its async connector (agent).

flytekit imports this package at `import flytekit` (entry point `flytekit.plugins`), which registers
the connector for `openai-batch` tasks, so `pyflyte serve connector|agent` and local runs find it.
The task module is loaded on first use, keeping that import cheap.
"""

from __future__ import annotations

from typing import Any

from .connector import BatchEndpointAgent, BatchEndpointConnector
from .resource_meta import BatchEndpointMetadata

__all__ = ["BatchEndpointAgent", "BatchEndpointConnector", "BatchEndpointMetadata", "BatchEndpointTask"]


def __getattr__(name: str) -> Any:
    if name == "BatchEndpointTask":
        from .task import BatchEndpointTask

        return BatchEndpointTask
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
