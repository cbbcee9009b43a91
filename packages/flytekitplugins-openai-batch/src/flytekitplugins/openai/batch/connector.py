"""The async connector (agent) of `openai-batch` tasks: creates, polls and cancels OpenAI batches.

FlytePropeller calls CreateTask once per task execution, then GetTask until a terminal phase, and
DeleteTask on abort. Each call here is short and bounded in time, because propeller gives each a
deadline of a few seconds and fails the task after a handful of failed calls.

It answers as upstream's connector did where upstream's own test looks: the meta holds the batch id
and organization (and a `base_url` only when the task named one), `result` is the batch as a dict,
and a failed batch's message is its first error's message. The fuller account of where the batch
stands (counts, result files, hints) is in `custom_info["message"]` and the connector's log.
"""

from __future__ import annotations

from typing import Any

from flyteidl.core.execution_pb2 import TaskExecution, TaskLog
from flytekit import FlyteContextManager, logger
from flytekit.core.type_engine import TypeEngine
from flytekit.models.literals import LiteralMap
from flytekit.models.task import TaskExecutionMetadata, TaskTemplate

from flytekitplugins.openai.core.keys import (
    # Named here too: integration tests and deployments know it as the connector's setting.
    ALLOWED_BASE_URLS_ENV as ALLOWED_BASE_URLS_ENV,
)
from flytekitplugins.openai.core.keys import OPENAI_API_URL, connector_base_url
from openai_batch_jobs.api.batch_api import batch_errors
from openai_batch_jobs.api.batch_config import TASK_TYPE
from openai_batch_jobs.api.batches import Cancelled, api_error, cancel_batch, find_or_create, poll_batch
from openai_batch_jobs.api.retry import POLL, POLL_FAULT_GRACE_S, is_transient
from openai_batch_jobs.job.settings import BatchTaskSettings
from openai_batch_jobs.job.status import BatchOutcome, Outcome, batch_outcome, custom_info

from ._compat import Resource, register_once
from ._connector_base import BatchConnectorBase, client_for
from ._execution_key import execution_key
from ._phases import phase_of
from .resource_meta import BatchEndpointMetadata

DASHBOARD_URL = "https://platform.openai.com/batches/{}"


class BatchEndpointConnector(BatchConnectorBase[BatchEndpointMetadata]):
    """Runs BatchEndpointTask on OpenAI's Batch API (or a compatible server)."""

    name = "OpenAI Batch Endpoint Connector"

    def __init__(self, fault_grace_s: float = POLL_FAULT_GRACE_S) -> None:
        super().__init__(TASK_TYPE, BatchEndpointMetadata, fault_grace_s)

    async def create(
        self,
        task_template: TaskTemplate,
        inputs: LiteralMap | None = None,
        output_prefix: str | None = None,
        task_execution_metadata: TaskExecutionMetadata | None = None,
        **kwargs: Any,
    ) -> BatchEndpointMetadata:
        """Create the batch, or find the one a repeated call for this execution already created.

        `inputs` comes second, as in upstream's connector; flytekit itself passes every argument by name.
        """
        task_name = task_template.id.name or None
        settings = BatchTaskSettings.from_custom(task_template.custom, task_name)
        config = settings.batch_config(task_name)
        # Checked (and refused if the connector does not trust it) before the key goes anywhere.
        base_url = connector_base_url(settings.base_url) if settings.base_url else None
        input_file_id = _input_file_id(inputs)
        key = execution_key(task_execution_metadata)
        client, api_key = client_for(settings.openai_organization, base_url)
        if key:
            async with self.create_lock(key):
                batch_id = await find_or_create(client, config, input_file_id, key, api_key)
        else:  # a local run: nothing to find again
            batch_id = await find_or_create(client, config, input_file_id, None, api_key)
        return BatchEndpointMetadata(
            batch_id=batch_id,
            openai_organization=settings.openai_organization,
            base_url=base_url,
            accept_partial_results=settings.accept_partial_results,
        )

    async def get(self, resource_meta: BatchEndpointMetadata, **kwargs: Any) -> Resource:
        """The batch's phase; on success the output `result` (the batch as a dict)."""
        meta = resource_meta
        client, api_key = client_for(meta.openai_organization, meta.base_url)
        links = _log_links(meta)
        try:
            batch = await poll_batch(client, meta.batch_id, POLL.request_timeout_s)
        except Exception as exc:
            if not is_transient(exc):
                raise api_error(f"Reading batch {meta.batch_id}", exc, api_key) from None
            message = self.grace.message(meta.batch_id, f"Reading batch {meta.batch_id}", exc, api_key)
            return Resource(phase=TaskExecution.RUNNING, message=message, log_links=links)
        self.grace.clear(meta.batch_id)
        state = batch_outcome(batch, meta.accept_partial_results)
        if state.outcome is not Outcome.RUNNING:
            logger.info(state.message)
        return Resource(
            phase=phase_of(state.outcome),
            message=_message(batch, state),
            log_links=links,
            outputs=_result_literals(batch) if state.succeeded else None,
            custom_info={**custom_info(batch), "message": state.message},
        )

    async def cancel_async(self, resource_meta: BatchEndpointMetadata) -> Cancelled:
        meta = resource_meta
        client, api_key = client_for(meta.openai_organization, meta.base_url)
        cancelled = await cancel_batch(client, meta.batch_id, api_key)
        return Cancelled([meta.batch_id] if cancelled else [])


def _message(batch: dict[str, Any], state: BatchOutcome) -> str | None:
    """Upstream's message: a failed batch's first error, else none; a batch that ended without
    results and without errors (expired, cancelled) says why in our words."""
    if state.outcome in (Outcome.RUNNING, Outcome.SUCCEEDED):
        return None
    errors = batch_errors(batch)
    first = errors[0].get("message") if errors else None
    return str(first) if first else state.message


def string_input(inputs: LiteralMap | None, name: str) -> str | None:
    """The string input `name` of a task, None when it was not given."""
    literal = inputs.literals.get(name) if inputs is not None else None
    if literal is None or literal.scalar is None or literal.scalar.primitive is None:
        return None
    value = literal.scalar.primitive.string_value
    return value if isinstance(value, str) else None


def _input_file_id(inputs: LiteralMap | None) -> str:
    value = string_input(inputs, "input_file_id")
    if not value:
        raise ValueError(
            "The openai-batch task needs its input input_file_id (the id of the uploaded JSONL file)."
        )
    return str(value)


def _result_literals(batch: dict[str, Any]) -> LiteralMap:
    # Literals, as upstream's connector returned them, typed as the task's `result: dict` output.
    ctx = FlyteContextManager.current_context()
    return TypeEngine.dict_to_literal_map(ctx, {"result": batch}, {"result": dict})


def _log_links(meta: BatchEndpointMetadata) -> list[TaskLog]:
    # The dashboard shows only OpenAI's own batches.
    if connector_base_url(meta.base_url) != OPENAI_API_URL:
        return []
    return [TaskLog(name="OpenAI batch", uri=DASHBOARD_URL.format(meta.batch_id))]


BatchEndpointAgent = BatchEndpointConnector

register_once(BatchEndpointConnector, TASK_TYPE)
