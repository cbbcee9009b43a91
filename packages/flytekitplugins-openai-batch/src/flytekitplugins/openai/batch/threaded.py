"""What the two connectors share: blocking SDK calls run in a worker thread, bounded retries of reads,
one CreateTask at a time per execution.

`create`, `get` and `delete` are coroutines, as upstream's connector had them (code that awaits them
keeps working), and run the blocking calls (`_create`, `poll`, `cancel`) in a worker thread so the
service's event loop stays free. `poll` and `cancel` are also plain functions: the local executor's
Ctrl-C handler runs where no event loop can be started.
"""

from __future__ import annotations

import asyncio
import threading
from abc import abstractmethod
from typing import Any, Generic, TypeVar

from flytekit.models.literals import LiteralMap
from flytekit.models.task import TaskExecutionMetadata, TaskTemplate

from openai_batch_jobs.api.batches import FaultGrace
from openai_batch_jobs.api.retry import POLL_FAULT_GRACE_S

from ._compat import AsyncConnectorBase, Resource, ResourceMeta

M = TypeVar("M", bound=ResourceMeta)

# Striped locks: two CreateTask calls for one execution in one process run one after the other, so
# the second finds what the first created instead of racing it.
CREATE_LOCKS = 64


class ThreadedConnector(AsyncConnectorBase, Generic[M]):
    """An async connector over blocking calls; subclasses define `_create`, `poll` and `cancel`."""

    def __init__(
        self, task_type_name: str, metadata_type: type[M], fault_grace_s: float = POLL_FAULT_GRACE_S
    ) -> None:
        super().__init__(task_type_name=task_type_name, metadata_type=metadata_type)
        self.grace = FaultGrace(fault_grace_s)
        self._create_locks = [threading.Lock() for _ in range(CREATE_LOCKS)]

    async def create(
        self,
        task_template: TaskTemplate,
        inputs: LiteralMap | None = None,
        output_prefix: str | None = None,
        task_execution_metadata: TaskExecutionMetadata | None = None,
        **kwargs: Any,
    ) -> M:
        """Start the task's work on the server, or find what a repeated call already started.

        `inputs` comes second, as in upstream's connector; flytekit itself passes every argument by name.
        """
        return await asyncio.to_thread(self._create, task_template, inputs, task_execution_metadata)

    async def get(self, resource_meta: M, **kwargs: Any) -> Resource:
        """The task's phase; on success its output `result` as literals."""
        return await asyncio.to_thread(self.poll, resource_meta)

    async def delete(self, resource_meta: M, **kwargs: Any) -> None:
        """Cancel what the task started; work that already ended, or is gone, is fine."""
        await asyncio.to_thread(self.cancel, resource_meta)

    def create_lock(self, key: str) -> threading.Lock:
        """The lock that CreateTask calls for the execution ``key`` share."""
        return self._create_locks[hash(key) % len(self._create_locks)]

    @abstractmethod
    def _create(
        self,
        task_template: TaskTemplate,
        inputs: LiteralMap | None,
        task_execution_metadata: TaskExecutionMetadata | None,
    ) -> M: ...

    @abstractmethod
    def poll(self, resource_meta: M) -> Resource:
        """`get` without an event loop."""

    @abstractmethod
    def cancel(self, resource_meta: M) -> Any:
        """`delete` without an event loop."""
