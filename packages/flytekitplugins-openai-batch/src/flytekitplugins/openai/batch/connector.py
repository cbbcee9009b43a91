"""The async connector (agent) of `openai-batch` tasks: creates, polls and cancels OpenAI batches.

FlytePropeller calls CreateTask once per task execution, then GetTask until a terminal phase, and
DeleteTask on abort. Each call here is short and bounded in time, because propeller gives each a
deadline of a few seconds and fails the task after a handful of failed calls.

`create`, `get` and `delete` are coroutines, as upstream's connector had them, running the blocking
calls here in a worker thread (`threaded.ThreadedConnector`, shared with the job connector).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from flyteidl.core.execution_pb2 import TaskExecution, TaskLog
from flytekit import FlyteContextManager, logger
from flytekit.core.type_engine import TypeEngine
from flytekit.models.literals import LiteralMap
from flytekit.models.task import TaskExecutionMetadata, TaskTemplate

from flytekitplugins.openai.core.keys import (
    # Named here too: integration tests and deployments know it as the connector's setting.
    ALLOWED_BASE_URLS_ENV as ALLOWED_BASE_URLS_ENV,
)
from flytekitplugins.openai.core.keys import OPENAI_API_URL, connector_api_key, connector_base_url
from openai_batch_jobs.api.batch_config import EXECUTION_METADATA_KEY, TASK_TYPE, BatchConfig
from openai_batch_jobs.api.batches import (
    Cancelled,
    api_error,
    cancel_batch,
    client_for,
    create_batch,
    recent_batches,
    tagged,
)
from openai_batch_jobs.api.retry import (
    CANCEL,
    CREATE,
    POLL,
    POLL_FAULT_GRACE_S,
    Deadline,
    DeadlinePassed,
    RetryPolicy,
    call_with_retries,
    is_transient,
)
from openai_batch_jobs.errors import BatchAPIError
from openai_batch_jobs.job.status import batch_outcome, custom_info

from ._compat import Resource, register_once
from .execution import execution_key
from .phases import phase_of
from .resource_meta import BatchEndpointMetadata
from .settings import BatchTaskSettings
from .threaded import ThreadedConnector

if TYPE_CHECKING:
    from openai import OpenAI

DASHBOARD_URL = "https://platform.openai.com/batches/{}"

# How far back CreateTask looks for a batch it already created (propeller repeats within minutes).
LOOKBACK_S = 3 * 3600.0
MAX_LIST_PAGES = 5


class BatchEndpointConnector(ThreadedConnector[BatchEndpointMetadata]):
    """Runs BatchEndpointTask on OpenAI's Batch API (or a compatible server)."""

    name = "OpenAI Batch Endpoint Connector"

    def __init__(self, fault_grace_s: float = POLL_FAULT_GRACE_S) -> None:
        super().__init__(TASK_TYPE, BatchEndpointMetadata, fault_grace_s)

    def cancel(self, resource_meta: BatchEndpointMetadata) -> Cancelled:
        """`delete` without an event loop, for the signal handlers of local runs; names the batch if
        this call cancelled it (none if it had ended)."""
        meta = resource_meta
        api_key = connector_api_key()
        with _client_for(meta, api_key, CANCEL) as client:
            return Cancelled([meta.batch_id] if cancel_batch(client, meta.batch_id, api_key) else [])

    def _create(
        self,
        task_template: TaskTemplate,
        inputs: LiteralMap | None,
        task_execution_metadata: TaskExecutionMetadata | None,
    ) -> BatchEndpointMetadata:
        task_name = task_template.id.name or None
        settings = BatchTaskSettings.from_custom(task_template.custom, task_name)
        config = settings.batch_config(task_name)
        organization = settings.openai_organization
        base_url = connector_base_url(settings.base_url)
        input_file_id = _input_file_id(inputs)
        key = execution_key(task_execution_metadata)
        api_key = connector_api_key()
        lock = self.create_lock(key) if key else threading.Lock()
        # Closed on the way out: a client per call must not leave its connection pool behind.
        # Each request's timeout is what is left of CreateTask's deadline.
        with (
            client_for(api_key, organization, base_url, CREATE) as client,
            lock,
        ):
            batch_id = _create_once(client, config, input_file_id, key, api_key)
        return BatchEndpointMetadata(
            batch_id=batch_id,
            openai_organization=organization,
            base_url=base_url,
            accept_partial_results=settings.accept_partial_results,
        )

    def poll(self, resource_meta: BatchEndpointMetadata) -> Resource:
        """`get` without an event loop: the batch's phase; on success the output `result` (the batch as a dict)."""
        meta = resource_meta
        api_key = connector_api_key()
        links = _log_links(meta)
        try:
            with _client_for(meta, api_key, POLL) as client:
                batch = client.batches.retrieve(meta.batch_id).to_dict(mode="json")
        except Exception as exc:
            if not is_transient(exc):
                raise api_error(f"Reading batch {meta.batch_id}", exc, api_key) from None
            message = self.grace.message(meta.batch_id, f"Reading batch {meta.batch_id}", exc, api_key)
            return Resource(phase=TaskExecution.RUNNING, message=message, log_links=links)
        self.grace.clear(meta.batch_id)
        state = batch_outcome(batch, meta.accept_partial_results)
        return Resource(
            phase=phase_of(state.outcome),
            message=state.message,
            log_links=links,
            outputs=_result_literals(batch) if state.succeeded else None,
            custom_info=custom_info(batch),
        )


def _create_once(client: Any, config: BatchConfig, input_file_id: str, key: str | None, api_key: str) -> str:
    """Id of this execution's batch: the one already created, else a new one; under the CREATE policy."""

    def find_or_create(deadline: Deadline) -> str:
        if key:
            since = time.time() - LOOKBACK_S
            batches, _ = recent_batches(client, config, since, deadline, MAX_LIST_PAGES)
            for batch in tagged(batches, EXECUTION_METADATA_KEY, key):
                if batch.get("input_file_id") == input_file_id:
                    logger.info(
                        f"Batch {batch['id']} already exists for task execution {key}; not creating another"
                    )
                    return str(batch["id"])
        tags = {EXECUTION_METADATA_KEY: key} if key else {}
        return str(create_batch(client, config, input_file_id, tags, deadline)["id"])

    try:
        return call_with_retries(
            find_or_create, CREATE, action=f"Creating a batch for input file {input_file_id}"
        )
    except DeadlinePassed:
        raise BatchAPIError(
            f"Creating the batch for input file {input_file_id} took longer than {CREATE.deadline_s:.0f} s; "
            "a repeated CreateTask call finds the batch if it was created."
        ) from None
    except Exception as exc:
        raise api_error(f"Creating a batch for input file {input_file_id}", exc, api_key) from None


def _client_for(meta: BatchEndpointMetadata, api_key: str, policy: RetryPolicy) -> OpenAI:
    return client_for(api_key, meta.openai_organization, meta.base_url, policy)


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
    if meta.base_url not in (None, OPENAI_API_URL):
        return []
    return [TaskLog(name="OpenAI batch", uri=DASHBOARD_URL.format(meta.batch_id))]


BatchEndpointAgent = BatchEndpointConnector

register_once(BatchEndpointConnector, TASK_TYPE)
