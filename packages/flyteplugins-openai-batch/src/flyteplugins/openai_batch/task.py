"""OpenAIBatchTask: one OpenAI batch as a Flyte 2 task, run by the `openai_batch` connector.

Declared as flyte-sdk's connector tasks are (a `TaskTemplate` with a task type, given an environment
by `flyte.TaskEnvironment.from_task`). On a cluster the backend drives the connector; in a local run
`execute` drives it in-process, with its own poll cadence (from 1 s up to `poll_interval_s`, where
flyte's stock loop polls every 3 s) and cancelling the batch when the run is cancelled or interrupted.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from flyte.connectors import AsyncConnectorExecutorMixin, ConnectorRegistry, Resource
from flyte.extend import TaskTemplate
from flyte.models import NativeInterface, SerializationContext
from flyteidl2.core.execution_pb2 import TaskExecution

from openai_batch_jobs.errors import BatchAPIError

from . import _local
from ._settings import CONNECTOR_KEY_ENV, TASK_TYPE, BatchTaskSettings
from .connector import OpenAIBatchConnector, OpenAIBatchMetadata

DEFAULT_POLL_INTERVAL_S = 30.0
FIRST_POLL_S = 1.0
_TERMINAL = (
    TaskExecution.SUCCEEDED,
    TaskExecution.FAILED,
    TaskExecution.RETRYABLE_FAILED,
    TaskExecution.ABORTED,
)


class OpenAIBatchTask(AsyncConnectorExecutorMixin, TaskTemplate):
    """Run one batch of an uploaded request file; returns the batch (the API's dict) once it has results.

    Inputs: ``key`` (names the batch: a repeated call with the same key gets the same batch) and
    ``input_file_id``. Output: ``batch``.

    :param config: `batches.create` arguments (endpoint, completion_window, metadata, ...).
    :param openai_organization: OpenAI organization id, if the connector's key belongs to several.
    :param base_url: An OpenAI-compatible API; default: the connector's OPENAI_BASE_URL, else OpenAI.
    :param accept_partial_results: An expired or cancelled batch with result files succeeds.
    :param key_secret: The Flyte secret holding the connector's key (a local run reads the environment
        variable of that name).
    :param poll_interval_s: The longest wait between two polls of a local run.
    """

    _TASK_TYPE = TASK_TYPE

    def __init__(
        self,
        name: str,
        config: dict[str, Any] | None = None,
        openai_organization: str | None = None,
        base_url: str | None = None,
        accept_partial_results: bool = False,
        key_secret: str = CONNECTOR_KEY_ENV,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        **kwargs: Any,
    ) -> None:
        self.settings = BatchTaskSettings(
            dict(config or {}), openai_organization, base_url, accept_partial_results, key_secret
        )
        self.settings.check(name)
        if poll_interval_s <= 0:
            raise ValueError(f"OpenAIBatchTask {name!r}: poll_interval_s must be positive")
        self.poll_interval_s = float(poll_interval_s)
        super().__init__(
            name=name,
            interface=NativeInterface({"key": (str, None), "input_file_id": (str, None)}, {"batch": dict}),
            task_type=self._TASK_TYPE,
            image=None,
            **kwargs,
        )
        _local.watch_signals()

    def custom_config(self, sctx: SerializationContext) -> dict[str, Any]:
        return self.settings.to_custom()

    async def execute(self, **kwargs: Any) -> dict[str, Any]:
        """A local run: start (or find) the batch, poll it, cancel it if the run ends first."""
        connector = ConnectorRegistry.get_connector(self.task_type, self.task_type_version)
        assert isinstance(connector, OpenAIBatchConnector)
        api_key = os.environ.get(self.settings.key_secret)
        meta = await connector.start(self.settings, kwargs["key"], kwargs["input_file_id"], api_key)
        handle = _local.pending(lambda: _cancelled(connector, meta, api_key))
        try:
            resource = await self._poll(connector, meta, api_key)
        except BaseException:
            # Cancelled, interrupted or unable to poll: nothing would stop the batch otherwise.
            print(await asyncio.to_thread(_cancelled, connector, meta, api_key), flush=True)
            raise
        finally:
            _local.done(handle)
        if resource.phase != TaskExecution.SUCCEEDED or not resource.outputs:
            raise BatchAPIError(resource.message or f"Batch {meta.batch_id} did not succeed.")
        batch: dict[str, Any] = resource.outputs["batch"]
        return batch

    async def _poll(
        self, connector: OpenAIBatchConnector, meta: OpenAIBatchMetadata, api_key: str | None
    ) -> Resource:
        wait = FIRST_POLL_S
        while True:
            resource = await connector.get(meta, openai_api_key=api_key)
            if resource.phase in _TERMINAL:
                return resource
            await asyncio.sleep(wait)
            wait = min(wait * 2, self.poll_interval_s)


def _cancelled(connector: OpenAIBatchConnector, meta: OpenAIBatchMetadata, api_key: str | None) -> str:
    if connector.cancel(meta, api_key):
        return f"Cancelled OpenAI batch {meta.batch_id}."
    return f"OpenAI batch {meta.batch_id} was no longer running."
