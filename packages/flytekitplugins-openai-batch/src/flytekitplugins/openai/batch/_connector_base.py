"""What the two batch connectors share: coroutines on the SDK's async client, one CreateTask at a time
per execution, riding out faults while polling, and a cancel that a signal handler can call.

`create`, `get` and `delete` are coroutines, as upstream's connector had them, and call the SDK's
async client (`AsyncOpenAI`, one per key and server, reused: `shared_async_client`) on the service's
event loop: no thread per call, and many tasks served by one process. `cancel` is `delete` for the
local executor's signal handler, which interrupts a running loop.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from abc import abstractmethod
from typing import Any, Generic, TypeVar

from flytekitplugins.openai.core.keys import connector_api_key, connector_base_url
from openai_batch_jobs.api.batches import Cancelled, FaultGrace
from openai_batch_jobs.api.client import run_on_own_loop, shared_async_client
from openai_batch_jobs.api.retry import POLL_FAULT_GRACE_S

from ._compat import AsyncConnectorBase, ResourceMeta

M = TypeVar("M", bound=ResourceMeta)

# Striped locks: two CreateTask calls for one execution in one process run one after the other, so
# the second finds what the first created instead of racing it.
CREATE_LOCKS = 64


class BatchConnectorBase(AsyncConnectorBase, Generic[M]):
    """An async connector of batches; subclasses define `create`, `get` and `cancel_async`."""

    def __init__(
        self, task_type_name: str, metadata_type: type[M], fault_grace_s: float = POLL_FAULT_GRACE_S
    ) -> None:
        super().__init__(task_type_name=task_type_name, metadata_type=metadata_type)
        self.grace = FaultGrace(fault_grace_s)
        # An asyncio lock belongs to the loop that first waits on it: one set per loop.
        self._create_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[asyncio.Lock]]
        self._create_locks = weakref.WeakKeyDictionary()
        self._locks_lock = threading.Lock()

    def create_lock(self, key: str) -> asyncio.Lock:
        """The lock that CreateTask calls for the execution ``key`` share (on this event loop)."""
        with self._locks_lock:
            locks = self._create_locks.setdefault(
                asyncio.get_running_loop(), [asyncio.Lock() for _ in range(CREATE_LOCKS)]
            )
        return locks[hash(key) % CREATE_LOCKS]

    async def delete(self, resource_meta: M, **kwargs: Any) -> None:
        """Cancel what the task started; work that already ended, or is gone, is fine."""
        await self.cancel_async(resource_meta)

    @abstractmethod
    async def cancel_async(self, resource_meta: M) -> Cancelled:
        """`delete`, saying what it cancelled."""

    def cancel(self, resource_meta: M) -> Cancelled:
        """`delete` for a local run's signal handler, which runs inside the run's event loop: the
        cancel gets a loop of its own, in a thread of its own, and the handler waits for it."""
        return run_on_own_loop(self.cancel_async(resource_meta))


def client_for(organization: str | None, base_url: str | None) -> tuple[Any, str]:
    """The shared async client of the connector's key for this organization and server (a task's
    `base_url` the connector trusts, else its own), and the key (to keep out of messages)."""
    api_key = connector_api_key()
    return shared_async_client(api_key, organization, connector_base_url(base_url)), api_key
