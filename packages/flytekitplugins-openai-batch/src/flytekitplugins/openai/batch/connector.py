"""The async connector (agent) of `openai-batch` tasks: creates, polls and cancels OpenAI batches.

FlytePropeller calls CreateTask once per task execution, then GetTask until a terminal phase, and
DeleteTask on abort. Each call here is short and bounded in time, because propeller gives each a
deadline of a few seconds and fails the task after a handful of failed calls.

`create`, `get` and `delete` are coroutines, as upstream's connector had them (code that awaits them
keeps working), and run the blocking SDK calls in a worker thread so the service's event loop stays
free. `cancel` is the same cancellation as a plain function: the local executor's Ctrl-C handler runs
where no event loop can be started.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from typing import TYPE_CHECKING, Any

from flyteidl.core.execution_pb2 import TaskExecution, TaskLog
from flytekit import FlyteContextManager, lazy_module, logger
from flytekit.core.type_engine import TypeEngine
from flytekit.models.literals import LiteralMap
from flytekit.models.task import TaskExecutionMetadata, TaskTemplate

from flytekitplugins.openai.core.batch_api import MAX_METADATA_VALUE_CHARS, TERMINAL_STATUSES
from flytekitplugins.openai.core.client import make_client
from flytekitplugins.openai.core.errors import BatchAPIError
from flytekitplugins.openai.core.keys import (
    # Named here too: integration tests and deployments know it as the connector's setting.
    ALLOWED_BASE_URLS_ENV as ALLOWED_BASE_URLS_ENV,
)
from flytekitplugins.openai.core.keys import OPENAI_API_URL, connector_api_key, connector_base_url
from flytekitplugins.openai.core.retry import (
    CANCEL,
    CREATE,
    POLL,
    POLL_FAULT_GRACE_S,
    Deadline,
    DeadlinePassed,
    RetryPolicy,
    call_with_retries,
    describe_failure,
    is_transient,
)

from ._compat import AsyncConnectorBase, Resource, register_once
from .config import EXECUTION_METADATA_KEY, TASK_TYPE, BatchConfig
from .resource_meta import BatchEndpointMetadata
from .settings import BatchTaskSettings
from .status import batch_phase, custom_info

if TYPE_CHECKING:
    from openai import OpenAI

openai = lazy_module("openai")

DASHBOARD_URL = "https://platform.openai.com/batches/{}"

# A run of faults not seen again for this long belongs to a batch propeller stopped polling.
FORGET_FAULTS_AFTER_S = 3600.0
# How far back CreateTask looks for a batch it already created (propeller repeats within minutes).
LOOKBACK_S = 3 * 3600.0
MAX_LIST_PAGES = 5


class BatchEndpointConnector(AsyncConnectorBase):
    """Runs BatchEndpointTask on OpenAI's Batch API (or a compatible server)."""

    name = "OpenAI Batch Endpoint Connector"

    def __init__(self, fault_grace_s: float = POLL_FAULT_GRACE_S) -> None:
        super().__init__(task_type_name=TASK_TYPE, metadata_type=BatchEndpointMetadata)
        self.fault_grace_s = fault_grace_s
        # Striped locks: two CreateTask calls for one execution in this process run one after the
        # other, so the second finds the first's batch instead of racing it.
        self._create_locks = [threading.Lock() for _ in range(64)]
        # batch id -> monotonic times of the first and the latest transient fault of an unbroken run.
        self._faults: dict[str, tuple[float, float]] = {}

    async def create(
        self,
        task_template: TaskTemplate,
        inputs: LiteralMap | None = None,
        output_prefix: str | None = None,
        task_execution_metadata: TaskExecutionMetadata | None = None,
        **kwargs: Any,
    ) -> BatchEndpointMetadata:
        """Create the task's batch (or find the one a repeated call already created).

        `inputs` comes second, as in upstream's connector; flytekit itself passes every argument by name.
        """
        return await asyncio.to_thread(self._create, task_template, inputs, task_execution_metadata)

    async def get(self, resource_meta: BatchEndpointMetadata, **kwargs: Any) -> Resource:
        """The batch's phase; on success the output `result` (the batch as a dict) as literals."""
        return await asyncio.to_thread(self._get, resource_meta)

    async def delete(self, resource_meta: BatchEndpointMetadata, **kwargs: Any) -> None:
        """Cancel the batch; a batch that is already cancelling, finished or gone is fine."""
        await asyncio.to_thread(self.cancel, resource_meta)

    def cancel(self, resource_meta: BatchEndpointMetadata) -> None:
        """`delete` without an event loop, for the Ctrl-C handler of local runs."""
        meta = resource_meta
        api_key = connector_api_key()
        with _client_for(meta, api_key, CANCEL) as client:
            _cancel(client, meta, api_key)

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
        lock = self._create_locks[hash(key) % len(self._create_locks)] if key else threading.Lock()
        # Closed on the way out: a client per call must not leave its connection pool behind.
        # Each request's timeout is what is left of CreateTask's deadline.
        with (
            make_client(api_key, organization=organization, base_url=base_url, retry=CREATE) as client,
            lock,
        ):
            batch_id = _create_once(client, config, input_file_id, key, api_key)
        return BatchEndpointMetadata(
            batch_id=batch_id,
            openai_organization=organization,
            base_url=base_url,
            accept_partial_results=settings.accept_partial_results,
        )

    def _get(self, resource_meta: BatchEndpointMetadata) -> Resource:
        meta = resource_meta
        api_key = connector_api_key()
        links = _log_links(meta)
        try:
            with _client_for(meta, api_key, POLL) as client:
                batch = client.batches.retrieve(meta.batch_id).to_dict(mode="json")
        except Exception as exc:
            if not is_transient(exc):
                raise _api_error(f"Reading batch {meta.batch_id}", exc, api_key) from None
            return self._through_fault(meta, exc, api_key, links)
        self._faults.pop(meta.batch_id, None)
        state = batch_phase(batch, meta.accept_partial_results)
        return Resource(
            phase=state.phase,
            message=state.message,
            log_links=links,
            outputs=_result_literals(batch) if state.succeeded else None,
            custom_info=custom_info(batch),
        )

    def _through_fault(
        self, meta: BatchEndpointMetadata, exc: Exception, api_key: str, links: list[TaskLog]
    ) -> Resource:
        now = time.monotonic()
        # Forget runs of faults of batches that propeller stopped asking about (the horizon is long
        # enough that no poll interval can reset a run that is still going on).
        horizon = max(2 * self.fault_grace_s, FORGET_FAULTS_AFTER_S)
        for batch_id, (_, latest) in list(self._faults.items()):
            if now - latest > horizon:
                self._faults.pop(batch_id, None)
        since = self._faults.get(meta.batch_id, (now, now))[0]
        self._faults[meta.batch_id] = (since, now)
        if now - since > self.fault_grace_s:
            self._faults.pop(meta.batch_id, None)
            raise _api_error(
                f"Reading batch {meta.batch_id} (failing for {now - since:.0f} s)", exc, api_key
            ) from None
        return Resource(
            phase=TaskExecution.RUNNING,
            message=(
                f"{describe_failure(f'Reading batch {meta.batch_id}', exc, api_key)}; asking again at the next "
                f"poll (faults for {now - since:.0f} s, giving up after {self.fault_grace_s:.0f} s)."
            ),
            log_links=links,
        )


def _cancel(client: Any, meta: BatchEndpointMetadata, api_key: str) -> None:
    """Cancel under the CANCEL policy; a batch that is already cancelling, finished or gone is fine."""

    def cancel(_: Deadline) -> None:
        client.batches.cancel(meta.batch_id)

    try:
        call_with_retries(
            cancel,
            CANCEL,
            action=f"Cancelling batch {meta.batch_id}",
            retry_if=lambda e: is_transient(e) and not _nothing_to_cancel(e),
        )
        logger.info(f"Cancelling OpenAI batch {meta.batch_id}")
        return
    except Exception as exc:
        if not _nothing_to_cancel(exc):
            raise _api_error(f"Cancelling batch {meta.batch_id}", exc, api_key) from None
        cancel_error = exc
    # The API refuses to cancel a batch that has nothing left to cancel; check that this is why.
    try:
        status = client.batches.retrieve(meta.batch_id).status
    except openai.NotFoundError:
        logger.info(f"OpenAI batch {meta.batch_id} no longer exists; nothing to cancel")
        return
    except Exception as exc:
        raise _api_error(f"Reading batch {meta.batch_id}", exc, api_key) from None
    if status in TERMINAL_STATUSES or status == "cancelling":
        logger.info(f"OpenAI batch {meta.batch_id} is already {status}; nothing to cancel")
        return
    raise _api_error(f"Cancelling batch {meta.batch_id}", cancel_error, api_key) from None


def _nothing_to_cancel(exc: BaseException) -> bool:
    """How the API refuses a cancel: 400/404/409, for a batch finished, cancelling or gone."""
    return isinstance(exc, openai.APIStatusError) and exc.status_code in (400, 404, 409)


def _create_once(client: Any, config: BatchConfig, input_file_id: str, key: str | None, api_key: str) -> str:
    """Id of this execution's batch: the one already created, else a new one; under the CREATE policy."""

    def find_or_create(deadline: Deadline) -> str:
        if key:
            found = _find_batch(client, config, key, input_file_id, deadline)
            if found:
                logger.info(f"Batch {found} already exists for task execution {key}; not creating another")
                return found
        metadata = {**config.metadata, EXECUTION_METADATA_KEY: key} if key else config.metadata
        extra: dict[str, Any] = {}
        if metadata:
            extra["metadata"] = metadata
        if config.body_extras():
            extra["extra_body"] = config.body_extras()
        batch = client.batches.create(
            completion_window=config.completion_window,
            endpoint=config.endpoint,
            input_file_id=input_file_id,
            **_request_options(config, deadline),
            **extra,
        )
        logger.info(f"Created OpenAI batch {batch.id} for input file {input_file_id}")
        return str(batch.id)

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
        raise _api_error(f"Creating a batch for input file {input_file_id}", exc, api_key) from None


def _request_options(config: BatchConfig, deadline: Deadline) -> dict[str, Any]:
    """The SDK's per-call options of CreateTask's requests: the task's headers and query parameters, and
    its timeout within what is left of the deadline."""
    left = deadline.remaining()
    timeout = min(left, config.timeout) if config.timeout and left is not None else (config.timeout or left)
    options: dict[str, Any] = {"timeout": timeout}
    if config.extra_headers:
        options["extra_headers"] = config.extra_headers
    if config.extra_query:
        options["extra_query"] = config.extra_query
    return options


def _find_batch(
    client: Any, config: BatchConfig, key: str, input_file_id: str, deadline: Deadline
) -> str | None:
    """The recent batch tagged with `key`, if any (the list is newest first).

    Each page is asked for with what is left of the deadline, so listing cannot overrun it.
    """
    cutoff = time.time() - LOOKBACK_S
    after: dict[str, str] = {}
    for _ in range(MAX_LIST_PAGES):
        page = client.batches.list(limit=100, **_request_options(config, deadline), **after)
        for batch in page.data:
            if (batch.metadata or {}).get(
                EXECUTION_METADATA_KEY
            ) == key and batch.input_file_id == input_file_id:
                return str(batch.id)
            if batch.created_at < cutoff:
                return None
        if not page.data or not page.has_next_page():
            return None
        after = {"after": str(page.data[-1].id)}
    return None


def execution_key(metadata: TaskExecutionMetadata | None) -> str | None:
    """A name for one attempt of one task execution, from what propeller sends with CreateTask.

    Local executions send none; they get no key and so no look-up before creating.
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


def _client_for(meta: BatchEndpointMetadata, api_key: str, policy: RetryPolicy) -> OpenAI:
    # The policies the connector runs under leave the SDK no retries of its own: it would also
    # retry the 409 that refuses to cancel a finished batch.
    return make_client(api_key, organization=meta.openai_organization, base_url=meta.base_url, retry=policy)


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


def _api_error(action: str, exc: BaseException, api_key: str) -> BatchAPIError:
    # Built afresh (and raised `from None`) so that neither the SDK's exception nor its request,
    # which hold the key, reach the traceback that the connector service sends to propeller.
    return BatchAPIError(describe_failure(action, exc, api_key))


BatchEndpointAgent = BatchEndpointConnector

register_once(BatchEndpointConnector, TASK_TYPE)
