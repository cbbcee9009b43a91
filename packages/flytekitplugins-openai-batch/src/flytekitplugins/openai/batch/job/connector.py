"""The async connector of `openai-batch-job` tasks: one connector task owns all the batches of a job.

A job is a list of input files (the parts of one large input). What CreateTask, GetTask and DeleteTask
do with its batches is the engine's (`openai_batch_jobs.job.runner`): start the first parts, submit
the rest while fewer than `max_in_flight` run, wait out OpenAI's enqueued token limit, cancel and
clean up. This face reads the task's template and inputs, keeps the job in its resource meta, and
turns the engine's reports into Flyte phases and outputs. Local runs go through the same calls
(flytekit's local executor calls create, then get in a loop), so the parts run at the same time there too.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flytekit import FlyteContextManager
from flytekit.core.type_engine import TypeEngine
from flytekit.models.literals import LiteralMap
from flytekit.models.task import TaskExecutionMetadata, TaskTemplate

from flytekitplugins.openai.core.keys import connector_base_url
from openai_batch_jobs.api.batches import Cancelled
from openai_batch_jobs.api.retry import POLL_FAULT_GRACE_S
from openai_batch_jobs.clock import clock
from openai_batch_jobs.job.runner import JobRunner, discard_inputs
from openai_batch_jobs.recovery.resume import local_job_key, server_of

from .._compat import Resource, register_once
from .._connector_base import BatchConnectorBase, client_for, run_on_own_loop
from .._execution_key import execution_key
from .._phases import phase_of
from .meta import BatchJobMetadata
from .settings import JOB_TASK_TYPE, JobTaskSettings


class BatchJobConnector(BatchConnectorBase[BatchJobMetadata]):
    """Runs BatchJobTask: the batches of a job's parts on OpenAI's Batch API (or a compatible server)."""

    name = "OpenAI Batch Job Connector"

    def __init__(self, fault_grace_s: float = POLL_FAULT_GRACE_S) -> None:
        super().__init__(JOB_TASK_TYPE, BatchJobMetadata, fault_grace_s)
        self.runner = JobRunner(self.grace)

    async def create(
        self,
        task_template: TaskTemplate,
        inputs: LiteralMap | None = None,
        output_prefix: str | None = None,
        task_execution_metadata: TaskExecutionMetadata | None = None,
        **kwargs: Any,
    ) -> BatchJobMetadata:
        """Start the job's first parts, or find what a repeated call for this execution already started."""
        task_name = task_template.id.name or None
        settings = JobTaskSettings.from_custom(task_template.custom, task_name)
        settings.check(task_name)
        settings = replace(settings, base_url=connector_base_url(settings.base_url))
        file_ids = _input_file_ids(inputs)
        key = execution_key(task_execution_metadata)
        meta = BatchJobMetadata(key or "", file_ids, clock().now(), settings)
        if meta.done_at_create:  # a later round with nothing to send again: nothing to create
            return meta
        client, api_key = client_for(settings.openai_organization, settings.base_url)
        since = None
        if key is None:
            # A local run: the key of a killed run of the same parts and settings, or a new one.
            meta.key, since = local_job_key(file_ids, settings.to_custom(), server_of(client))
        async with self.create_lock(meta.key):
            await self.runner.start(client, meta, api_key, since)
        return meta

    async def get(self, resource_meta: BatchJobMetadata, **kwargs: Any) -> Resource:
        """Where the job stands; on success its output `result` (see `openai_batch_jobs.job.state`)."""
        meta = resource_meta
        if meta.done_at_create:
            report = await self.runner.poll(None, meta, "")
        else:
            client, api_key = client_for(meta.settings.openai_organization, meta.settings.base_url)
            report = await self.runner.poll(client, meta, api_key)
        return Resource(
            phase=phase_of(report.outcome),
            message=report.message,
            outputs=_result_literals(report.result) if report.result is not None else None,
            custom_info=report.custom_info,
        )

    async def cancel_async(self, resource_meta: BatchJobMetadata) -> Cancelled:
        """Cancel every running batch of the job, then delete its input files (with `delete_input_files`)."""
        meta = resource_meta
        if meta.done_at_create:
            return Cancelled([])
        client, api_key = client_for(meta.settings.openai_organization, meta.settings.base_url)
        return await self.runner.cancel(client, meta, api_key)

    def discard_inputs(self, settings: JobTaskSettings, file_ids: list[str]) -> str:
        """Delete the input files of a local run whose CreateTask failed (with `delete_input_files`):
        nothing retries a local run, and without a resource meta no GetTask will. Best effort; returns
        what it did, for the error's message. Called where a loop may be running, as `cancel` is."""
        if not settings.delete_input_files or not file_ids:
            return ""

        async def discard() -> str:
            try:
                client, api_key = client_for(settings.openai_organization, settings.base_url)
            except Exception:
                return ""  # the create failed for this reason already; it is the error the user sees
            return await discard_inputs(client, settings, file_ids, api_key)

        return run_on_own_loop(discard())


def _input_file_ids(inputs: LiteralMap | None) -> list[str]:
    literal = inputs.literals.get("input_file_ids") if inputs is not None else None
    collection = getattr(literal, "collection", None)
    if literal is None or collection is None:
        raise ValueError(
            "The openai-batch-job task needs its input input_file_ids (the ids of the uploaded JSONL parts)."
        )
    ids: list[str] = []
    for item in getattr(collection, "literals", None) or []:
        primitive = getattr(getattr(item, "scalar", None), "primitive", None)
        value = getattr(primitive, "string_value", None)
        if not isinstance(value, str) or not value:
            raise ValueError(
                "The openai-batch-job task's input_file_ids must be a list of file ids (strings)."
            )
        ids.append(value)
    return ids


def _result_literals(result: dict[str, Any]) -> LiteralMap:
    ctx = FlyteContextManager.current_context()
    return TypeEngine.dict_to_literal_map(ctx, {"result": result}, {"result": dict})


BatchJobAgent = BatchJobConnector

register_once(BatchJobConnector, JOB_TASK_TYPE)
