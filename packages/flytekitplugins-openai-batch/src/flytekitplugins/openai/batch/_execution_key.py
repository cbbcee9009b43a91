"""Which Flyte task execution a batch belongs to, from what FlytePropeller sends with CreateTask.

The key tags the batches a task creates (their metadata), so a CreateTask that propeller repeats
after a lost reply finds the batch the first call made instead of paying for a second one.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from openai_batch_jobs.api.batch_api import MAX_METADATA_VALUE_CHARS

if TYPE_CHECKING:
    from flytekit.models.task import TaskExecutionMetadata


def execution_key(metadata: TaskExecutionMetadata | None) -> str | None:
    """A name for one attempt of one task execution, from what propeller sends with CreateTask.

    Local executions send none (None here).
    """
    task_execution_id = getattr(metadata, "task_execution_id", None)
    node = getattr(task_execution_id, "node_execution_id", None)
    workflow = getattr(node, "execution_id", None)
    if task_execution_id is None or node is None or workflow is None or not workflow.name:
        return None
    key = f"{workflow.project}/{workflow.domain}/{workflow.name}/{node.node_id}/{task_execution_id.retry_attempt}"
    if len(key) > MAX_METADATA_VALUE_CHARS:
        key = "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return key
