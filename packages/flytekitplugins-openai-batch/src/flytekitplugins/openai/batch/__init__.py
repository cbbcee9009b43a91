"""The OpenAI Batch tasks and their async connectors (agents).

flytekit imports this package at `import flytekit` (entry point `flytekit.plugins`), which registers
the connectors of `openai-batch` and `openai-batch-job` tasks, so `pyflyte serve connector|agent`
and local runs find them. The task modules are loaded on first use, keeping that import cheap.

- `task`: `BatchEndpointTask`, one batch (upstream's module: it also names the files package's tasks).
- `connector`: `BatchEndpointConnector`, which creates, polls and cancels that batch; `agent`: the
  same under flytekit 1.15's name; `resource_meta`: what propeller keeps between its calls.
- `workflow`: `create_batch`, the upload -> job -> collect workflow for an input of any size.
- `job`: `BatchJobTask` and its connector, the batches of a large input's parts as one task.
- `local`: how both tasks run locally: the wait, the status line, cancelling on signals.
- `errors`: the exceptions' names here.
- `_connector_base`: what both connectors share (async calls, one CreateTask at a time per execution);
  `_execution_key`: which task execution a batch belongs to; `_phases`: engine outcomes as Flyte phases;
  `_compat`: flytekit 1.15's and 1.16's names for the connector classes.
"""

from __future__ import annotations

from typing import Any

from .connector import BatchEndpointAgent, BatchEndpointConnector
from .job.connector import BatchJobAgent, BatchJobConnector
from .job.meta import BatchJobMetadata
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
        from .job.task import BatchJobTask

        return BatchJobTask
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
