"""The connector tasks: `OpenAIBatchTask` (one batch, task type `openai_batch`) and `OpenAIBatchJobTask`
(the batches of one round of a job, task type `openai_batch_job`, what `OpenAIBatch.run` calls).

Declared as flyte-sdk's connector tasks are (a `TaskTemplate` with a task type, given an environment
by `flyte.TaskEnvironment.from_task`). On a cluster the backend drives the connector; in a local run
`execute` drives it in-process, with its own poll cadence (from 1 s up to `poll_interval_s`, where
flyte's stock loop polls every 3 s) and cancelling the batches when the run is cancelled or interrupted.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from flyte.connectors import AsyncConnectorExecutorMixin, ConnectorRegistry, Resource
from flyte.extend import TaskTemplate
from flyte.models import NativeInterface, SerializationContext
from flyteidl2.core.execution_pb2 import TaskExecution

from openai_batch_jobs.api.batch_config import check_base_url
from openai_batch_jobs.errors import BatchAPIError
from openai_batch_jobs.job.settings import BatchTaskSettings, JobTaskSettings

from . import _local
from ._settings import CONNECTOR_KEY_ENV, JOB_TASK_TYPE, TASK_TYPE, to_custom
from .connector import OpenAIBatchConnector
from .job_connector import OpenAIBatchJobConnector

DEFAULT_POLL_INTERVAL_S = 30.0
FIRST_POLL_S = 1.0
_TERMINAL = (
    TaskExecution.SUCCEEDED,
    TaskExecution.FAILED,
    TaskExecution.RETRYABLE_FAILED,
    TaskExecution.ABORTED,
)


class _ConnectorTask(AsyncConnectorExecutorMixin, TaskTemplate):
    """A task its connector runs; locally, polled at this task's cadence and cancelled when the run ends first."""

    def __init__(
        self,
        name: str,
        task_type: str,
        interface: NativeInterface,
        settings: BatchTaskSettings | JobTaskSettings,
        key_secret: str,
        poll_interval_s: float,
        **kwargs: Any,
    ) -> None:
        check_base_url(settings.base_url, f"{type(self).__name__} {name!r}")
        settings.batch_config(name)
        if poll_interval_s <= 0:
            raise ValueError(f"{type(self).__name__} {name!r}: poll_interval_s must be positive")
        self.settings, self.key_secret, self.poll_interval_s = settings, key_secret, float(poll_interval_s)
        super().__init__(name=name, interface=interface, task_type=task_type, image=None, **kwargs)
        _local.watch_signals()

    def custom_config(self, sctx: SerializationContext) -> dict[str, Any]:
        return to_custom(self.settings, self.key_secret)

    async def execute(self, **kwargs: Any) -> Any:
        """A local run: start (or find) the batches, poll them, cancel them if the run ends first."""
        connector = ConnectorRegistry.get_connector(self.task_type, self.task_type_version)
        assert isinstance(connector, (OpenAIBatchConnector, OpenAIBatchJobConnector))
        api_key = os.environ.get(self.key_secret)
        with _local.starting():
            meta = await connector.start(self.settings, self.key_secret, api_key, **kwargs)  # type: ignore[arg-type]
            handle = _local.pending(lambda: connector.cancelled(meta, api_key))  # type: ignore[arg-type]
        try:
            resource = await self._poll(connector, meta, api_key)
        except BaseException:
            # Cancelled, interrupted or unable to poll: nothing would stop the batches otherwise.
            print(await asyncio.to_thread(connector.cancelled, meta, api_key), flush=True)  # type: ignore[arg-type]
            raise
        finally:
            _local.done(handle)
        if resource.phase != TaskExecution.SUCCEEDED or not resource.outputs:
            raise BatchAPIError(resource.message or f"{self.name} did not succeed.")
        (output,) = self.interface.outputs
        return resource.outputs[output]

    async def _poll(self, connector: Any, meta: Any, api_key: str | None) -> Resource:
        wait = FIRST_POLL_S
        while True:
            resource: Resource = await connector.get(meta, openai_api_key=api_key)
            if resource.phase in _TERMINAL:
                return resource
            await asyncio.sleep(wait)
            wait = min(wait * 2, self.poll_interval_s)


class OpenAIBatchTask(_ConnectorTask):
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
        settings = BatchTaskSettings(
            dict(config or {}), openai_organization, base_url, accept_partial_results
        )
        interface = NativeInterface({"key": (str, None), "input_file_id": (str, None)}, {"batch": dict})
        super().__init__(name, TASK_TYPE, interface, settings, key_secret, poll_interval_s, **kwargs)


class OpenAIBatchJobTask(_ConnectorTask):
    """Run the batches of a job's parts, at most ``max_in_flight`` at once (`JobTaskSettings`); returns
    the job's ``result`` (see `openai_batch_jobs.job.state`) once every part has results.

    Inputs: ``key`` (names the job's batches) and ``input_file_ids`` (the parts, in order).
    """

    def __init__(
        self,
        name: str,
        settings: JobTaskSettings,
        key_secret: str = CONNECTOR_KEY_ENV,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        **kwargs: Any,
    ) -> None:
        settings.check(name)
        interface = NativeInterface(
            {"key": (str, None), "input_file_ids": (list[str], None)}, {"result": dict}
        )
        super().__init__(name, JOB_TASK_TYPE, interface, settings, key_secret, poll_interval_s, **kwargs)
