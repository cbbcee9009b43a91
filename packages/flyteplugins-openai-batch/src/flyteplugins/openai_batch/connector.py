"""The Flyte 2 connector of `openai_batch` tasks: one OpenAI batch per task, created, polled and cancelled.

Served by flyte's connector server (`c0`, found through the `flyte.connectors` entry point) and, in a
local run, called in-process by `OpenAIBatchTask.execute`. The batch is tagged with the task's key
(`flyte_task_execution` metadata: the key input, plus the attempt Flyte sends), so a CreateTask that
the backend repeats finds the batch the first call made, and a restarted server carries on from the
resource meta alone. Every call is the engine's on the SDK's async client (one per key and server,
shared), on the server's event loop: no thread per call.
"""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from flyte.connectors import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta
from flyteidl2.core.execution_pb2 import TaskExecution
from google.protobuf import json_format

from openai_batch_jobs.api.batch_api import MAX_METADATA_VALUE_CHARS
from openai_batch_jobs.api.batches import FaultGrace, api_error, cancel_batch, find_or_create
from openai_batch_jobs.api.client import run_on_own_loop, shared_async_client
from openai_batch_jobs.api.retry import POLL, is_transient
from openai_batch_jobs.api.servers import trusted_base_url
from openai_batch_jobs.errors import OpenAIBatchError
from openai_batch_jobs.job.settings import BatchTaskSettings
from openai_batch_jobs.job.status import Outcome, batch_outcome, custom_info

from ._settings import CONNECTOR_KEY_ENV, KEY_SECRET_ID, TASK_TYPE, Settings, from_custom

PHASES = {
    Outcome.RUNNING: TaskExecution.RUNNING,
    Outcome.SUCCEEDED: TaskExecution.SUCCEEDED,
    Outcome.RETRYABLE_FAILED: TaskExecution.RETRYABLE_FAILED,
    Outcome.FAILED: TaskExecution.FAILED,
}


@dataclass
class OpenAIBatchMetadata(ResourceMeta):
    """What the backend keeps between calls (JSON): enough to find, poll and cancel the batch."""

    batch_id: str
    key: str
    base_url: str
    openai_organization: str | None = None
    accept_partial_results: bool = False
    key_secret: str = CONNECTOR_KEY_ENV


class OpenAIBatchConnector(AsyncConnector[OpenAIBatchMetadata]):
    """Runs `openai_batch` tasks on OpenAI's Batch API (or a compatible server)."""

    name = "OpenAI Batch Connector"
    task_type_name = TASK_TYPE
    metadata_type = OpenAIBatchMetadata

    def __init__(self) -> None:
        self.grace = FaultGrace()
        # One CreateTask at a time per key, so that a repeated call waits for the first one's batch.
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def create(
        self,
        task_template: Any,
        output_prefix: str = "",
        inputs: dict[str, Any] | None = None,
        task_execution_metadata: Any = None,
        **secrets: Any,
    ) -> OpenAIBatchMetadata:
        settings, key_secret, key = read_task(
            BatchTaskSettings, task_template, inputs, task_execution_metadata
        )
        input_file_id = str((inputs or {})["input_file_id"])
        return await self.start(
            settings, key_secret, secrets.get(KEY_SECRET_ID), key=key, input_file_id=input_file_id
        )

    async def start(
        self,
        settings: BatchTaskSettings,
        key_secret: str,
        api_key: str | None,
        *,
        key: str,
        input_file_id: str,
    ) -> OpenAIBatchMetadata:
        """The batch tagged `key`: the one an earlier call created, else a new one of `input_file_id`."""
        api_key = connector_key(api_key, key_secret)
        base_url = trusted_base_url(settings.base_url)
        client = shared_async_client(api_key, settings.openai_organization, base_url)
        async with self._locks[key]:
            batch_id = await find_or_create(client, settings.batch_config(), input_file_id, key, api_key)
        return OpenAIBatchMetadata(
            batch_id,
            key,
            base_url,
            settings.openai_organization,
            settings.accept_partial_results,
            key_secret,
        )

    async def get(self, resource_meta: OpenAIBatchMetadata, **secrets: Any) -> Resource:
        meta = resource_meta
        api_key = connector_key(secrets.get(KEY_SECRET_ID), meta.key_secret)
        client = shared_async_client(api_key, meta.openai_organization, meta.base_url)
        try:
            retrieved = await client.batches.retrieve(meta.batch_id, timeout=POLL.request_timeout_s)
        except Exception as exc:
            if not is_transient(exc):
                raise api_error(f"Reading batch {meta.batch_id}", exc, api_key) from None
            message = self.grace.message(meta.batch_id, f"Reading batch {meta.batch_id}", exc, api_key)
            return Resource(phase=TaskExecution.RUNNING, message=message)
        self.grace.clear(meta.batch_id)
        batch: dict[str, Any] = retrieved.to_dict(mode="json")
        outcome = batch_outcome(batch, meta.accept_partial_results)
        phase = PHASES[outcome.outcome]
        outputs = {"batch": batch} if phase == TaskExecution.SUCCEEDED else None
        return Resource(phase=phase, message=outcome.message, outputs=outputs, custom_info=custom_info(batch))

    async def delete(self, resource_meta: OpenAIBatchMetadata, **secrets: Any) -> None:
        await self.cancel_async(resource_meta, secrets.get(KEY_SECRET_ID))

    async def cancel_async(self, meta: OpenAIBatchMetadata, api_key: str | None) -> bool:
        """Cancel the batch (idempotent: a finished or gone batch is fine); whether this call cancelled it."""
        key = connector_key(api_key, meta.key_secret)
        client = shared_async_client(key, meta.openai_organization, meta.base_url)
        return await cancel_batch(client, meta.batch_id, key)

    def cancelled(self, meta: OpenAIBatchMetadata, api_key: str | None) -> str:
        """`cancel_async` for a local run's exit handler, which may run inside a loop or after it; what it did."""
        if run_on_own_loop(self.cancel_async(meta, api_key)):
            return f"Cancelled OpenAI batch {meta.batch_id}."
        return f"OpenAI batch {meta.batch_id} was no longer running."


def connector_key(given: str | None, secret: str) -> str:
    """The key Flyte passed as the task's secret, else the connector's environment variable."""
    value = (given or os.environ.get(secret, "") or os.environ.get(CONNECTOR_KEY_ENV, "")).strip()
    if not value:
        raise OpenAIBatchError(
            f"The connector has no OpenAI API key: Flyte passed no secret {KEY_SECRET_ID!r}, and neither "
            f"{secret} nor {CONNECTOR_KEY_ENV} is set in its environment."
        )
    return value


def read_task(
    kind: type[Settings], task_template: Any, inputs: dict[str, Any] | None, metadata: Any
) -> tuple[Settings, str, str]:
    """What a CreateTask names: the template's settings, the name of the key's secret, the batches' tag."""
    custom = json_format.MessageToDict(task_template.custom)
    settings, key_secret = from_custom(kind, custom, task_template.id.name or None)
    return settings, key_secret, execution_key(str((inputs or {}).get("key") or ""), metadata)


def execution_key(key: str, metadata: Any) -> str:
    """The tag of this task's batch: the caller's key and, from the backend, the task attempt
    (a retried task makes a batch of its own)."""
    task_execution_id = getattr(metadata, "task_execution_id", None)
    if task_execution_id is not None and task_execution_id.ByteSize():
        node = task_execution_id.node_execution_id
        key = f"{key or node.node_id}/{task_execution_id.retry_attempt}"
    if not key:
        raise ValueError("The openai_batch task needs its input `key` (what names its batch).")
    return key[-MAX_METADATA_VALUE_CHARS:]


ConnectorRegistry.register(OpenAIBatchConnector())
