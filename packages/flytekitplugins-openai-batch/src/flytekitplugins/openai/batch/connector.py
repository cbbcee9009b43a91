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
import ipaddress
import os
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flyteidl.core.execution_pb2 import TaskExecution, TaskLog
from flytekit import FlyteContextManager, current_context, lazy_module, logger
from flytekit.core.type_engine import TypeEngine
from flytekit.models.literals import LiteralMap
from flytekit.models.task import TaskExecutionMetadata, TaskTemplate

from flytekitplugins.openai.files._client import describe_failure, is_transient, make_client, resolve_base_url

from ._compat import AsyncConnectorBase, Resource, get_secret, register_once
from .config import EXECUTION_METADATA_KEY, MAX_METADATA_VALUE_CHARS, TASK_TYPE, BatchConfig
from .errors import BaseURLNotAllowed, BatchAPIError, MissingConnectorSecret
from .resource_meta import BatchEndpointMetadata
from .status import batch_phase, custom_info

if TYPE_CHECKING:
    from openai import OpenAI

openai = lazy_module("openai")

API_KEY_SECRET = "FLYTE_OPENAI_API_KEY"
# Comma-separated base URLs (or "*") a task's `base_url` may name besides OpenAI's, the connector's
# own OPENAI_BASE_URL and loopback: without this a task could send the connector's key anywhere.
ALLOWED_BASE_URLS_ENV = "FLYTE_OPENAI_ALLOWED_BASE_URLS"
OPENAI_API_URL = "https://api.openai.com/v1"
DASHBOARD_URL = "https://platform.openai.com/batches/{}"

# CreateTask must answer within propeller's deadline; what is not done by then is found again
# (through the batch metadata) when propeller repeats the call.
CREATE_DEADLINE_S = 5.0
DELETE_DEADLINE_S = 8.0
REQUEST_TIMEOUT_S = 5.0
# GetTask answers RUNNING through transient faults (429, 5xx, dropped connections) for this long,
# then fails: an outage of minutes should not fail a 24 h batch, a dead endpoint should not hang it.
FAULT_GRACE_S = 30 * 60.0
# A run of faults not seen again for this long belongs to a batch propeller stopped polling.
FORGET_FAULTS_AFTER_S = 3600.0
# How far back CreateTask looks for a batch it already created (propeller repeats within minutes).
LOOKBACK_S = 3 * 3600.0
MAX_LIST_PAGES = 5
TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})


class BatchEndpointConnector(AsyncConnectorBase):
    """Runs BatchEndpointTask on OpenAI's Batch API (or a compatible server)."""

    name = "OpenAI Batch Endpoint Connector"

    def __init__(self, fault_grace_s: float = FAULT_GRACE_S) -> None:
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
        api_key = read_api_key()
        with _client_for(meta, api_key) as client:
            _cancel(client, meta, api_key)

    def _create(
        self,
        task_template: TaskTemplate,
        inputs: LiteralMap | None,
        task_execution_metadata: TaskExecutionMetadata | None,
    ) -> BatchEndpointMetadata:
        custom = task_template.custom or {}
        config = BatchConfig.parse(custom.get("config"), task_name=task_template.id.name or None)
        organization = custom.get("openai_organization") or None
        base_url = _checked_base_url(custom.get("base_url"))
        input_file_id = _input_file_id(inputs)
        key = execution_key(task_execution_metadata)
        api_key = read_api_key()
        deadline = time.monotonic() + CREATE_DEADLINE_S
        lock = self._create_locks[hash(key) % len(self._create_locks)] if key else threading.Lock()
        # Closed on the way out: a client per call must not leave its connection pool behind.
        with (
            make_client(api_key, organization=organization, base_url=base_url, max_retries=0) as client,
            lock,
        ):
            batch_id = _create_once(client, config, input_file_id, key, deadline, api_key)
        return BatchEndpointMetadata(
            batch_id=batch_id,
            openai_organization=organization,
            base_url=base_url,
            accept_partial_results=bool(custom.get("accept_partial_results", False)),
        )

    def _get(self, resource_meta: BatchEndpointMetadata) -> Resource:
        meta = resource_meta
        api_key = read_api_key()
        links = _log_links(meta)
        try:
            with _client_for(meta, api_key) as client:
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
    """Cancel within DELETE_DEADLINE_S, retrying transient faults (the client itself does not)."""
    deadline = time.monotonic() + DELETE_DEADLINE_S
    backoff = 0.25
    while True:
        try:
            client.batches.cancel(meta.batch_id)
            logger.info(f"Cancelling OpenAI batch {meta.batch_id}")
            return
        except Exception as exc:
            if isinstance(exc, openai.APIStatusError) and exc.status_code in (400, 404, 409):
                cancel_error = exc
                break
            if not is_transient(exc) or time.monotonic() + backoff >= deadline:
                raise _api_error(f"Cancelling batch {meta.batch_id}", exc, api_key) from None
            time.sleep(backoff)
            backoff *= 2
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


def _create_once(
    client: Any, config: BatchConfig, input_file_id: str, key: str | None, deadline: float, api_key: str
) -> str:
    """Id of this execution's batch: the one already created, else a new one; retried until `deadline`."""
    backoff = 0.25
    while True:
        try:
            if key:
                found = _find_batch(client, config, key, input_file_id, deadline)
                if found:
                    logger.info(
                        f"Batch {found} already exists for task execution {key}; not creating another"
                    )
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
        except _DeadlinePassed:
            raise BatchAPIError(
                f"Creating the batch for input file {input_file_id} took longer than {CREATE_DEADLINE_S:.0f} s; "
                "a repeated CreateTask call finds the batch if it was created."
            ) from None
        except Exception as exc:
            if not is_transient(exc) or time.monotonic() + backoff >= deadline:
                raise _api_error(f"Creating a batch for input file {input_file_id}", exc, api_key) from None
            time.sleep(backoff)
            backoff *= 2


def _request_options(config: BatchConfig, deadline: float) -> dict[str, Any]:
    """The SDK's per-call options of CreateTask's requests: the task's headers and query parameters, and
    its timeout within what is left of the deadline."""
    left = _remaining(deadline)
    options: dict[str, Any] = {"timeout": min(left, config.timeout) if config.timeout else left}
    if config.extra_headers:
        options["extra_headers"] = config.extra_headers
    if config.extra_query:
        options["extra_query"] = config.extra_query
    return options


def _find_batch(
    client: Any, config: BatchConfig, key: str, input_file_id: str, deadline: float
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


def read_api_key() -> str:
    """The connector's API key: flytekit's secret (env `_FSEC_...` or mounted file), else the plain env var."""
    try:
        value = get_secret(API_KEY_SECRET)
    except ValueError:
        value = ""
    value = value or os.environ.get(API_KEY_SECRET, "").strip()
    if not value:
        secrets = current_context().secrets
        raise MissingConnectorSecret(
            API_KEY_SECRET,
            secrets.get_secrets_env_var(key=API_KEY_SECRET),
            secrets.get_secrets_file(key=API_KEY_SECRET),
        )
    return value


def _checked_base_url(explicit: str | None) -> str:
    """The API a task's batch goes to; a task-chosen server must be one the connector trusts with its key."""
    url = (resolve_base_url(explicit) or OPENAI_API_URL).rstrip("/")
    if not explicit:
        return url
    allowed = {OPENAI_API_URL, os.environ.get("OPENAI_BASE_URL", "").rstrip("/")}
    allowed |= {u.strip().rstrip("/") for u in os.environ.get(ALLOWED_BASE_URLS_ENV, "").split(",")}
    if url in allowed or "*" in allowed or _is_loopback(url):
        return url
    raise BaseURLNotAllowed(
        f"base_url {url!r} of this task is not allowed by the connector, which sends its API key only to "
        f"OpenAI, its own OPENAI_BASE_URL, loopback and the URLs listed in {ALLOWED_BASE_URLS_ENV}."
    )


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _client_for(meta: BatchEndpointMetadata, api_key: str) -> OpenAI:
    # No SDK retries: it would also retry the 409 that refuses to cancel a finished batch.
    return make_client(
        api_key,
        organization=meta.openai_organization,
        base_url=meta.base_url,
        max_retries=0,
        timeout=REQUEST_TIMEOUT_S,
    )


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


class _DeadlinePassed(Exception):
    pass


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0.05:
        raise _DeadlinePassed
    return left


def _api_error(action: str, exc: BaseException, api_key: str) -> BatchAPIError:
    # Built afresh (and raised `from None`) so that neither the SDK's exception nor its request,
    # which hold the key, reach the traceback that the connector service sends to propeller.
    return BatchAPIError(describe_failure(action, exc, api_key))


BatchEndpointAgent = BatchEndpointConnector

register_once(BatchEndpointConnector, TASK_TYPE)
