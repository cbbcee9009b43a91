"""The Flyte 2 connector of `openai_batch_job` tasks: all the batches of one round of a job, run by the
engine's job runner (`openai_batch_jobs.job.runner`), as the flytekit job connector runs them.

CreateTask starts the first parts (or finds those a repeated call created), GetTask submits the rest
while fewer than `max_in_flight` run and waits out OpenAI's enqueued token limit, DeleteTask cancels
every running batch and deletes the round's input files. This face reads the template and inputs,
keeps the job in its resource meta (JSON: with a token budget, each part's bound read at start) and turns the runner's reports into Flyte phases and outputs.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from flyte.connectors import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta

from openai_batch_jobs.api.batches import Cancelled, FaultGrace
from openai_batch_jobs.api.client import run_on_own_loop, shared_async_client
from openai_batch_jobs.api.servers import trusted_base_url
from openai_batch_jobs.job.runner import JobRunner
from openai_batch_jobs.job.settings import JobTaskSettings
from openai_batch_jobs.job.state import Job

from ._settings import CONNECTOR_KEY_ENV, JOB_TASK_TYPE, KEY_SECRET_ID
from .connector import PHASES, connector_key, read_task


@dataclass
class OpenAIBatchJobMetadata(ResourceMeta):
    """What the backend keeps between calls (JSON): the job's key, parts, start and settings."""

    key: str
    input_file_ids: list[str]
    created_at: float
    # `JobTaskSettings.to_custom()`, the base URL resolved where CreateTask ran.
    settings: dict[str, Any] = field(default_factory=dict)
    key_secret: str = CONNECTOR_KEY_ENV
    # Each part's enqueued-token bound and model (`Job.part_tokens`), read at start for a token budget.
    part_tokens: list[list[Any]] | None = None

    def job(self) -> Job:
        settings = JobTaskSettings.from_custom(self.settings)
        tokens = None if self.part_tokens is None else [(int(t), m) for t, m in self.part_tokens]
        return Job(self.key, list(self.input_file_ids), self.created_at, settings, tokens)


class OpenAIBatchJobConnector(AsyncConnector[OpenAIBatchJobMetadata]):
    """Runs `openai_batch_job` tasks: the batches of a job's parts on OpenAI's Batch API."""

    name = "OpenAI Batch Job Connector"
    task_type_name = JOB_TASK_TYPE
    metadata_type = OpenAIBatchJobMetadata

    def __init__(self) -> None:
        self.runner = JobRunner(FaultGrace())
        # One CreateTask at a time per key, so that a repeated call finds the first one's batches.
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def create(
        self,
        task_template: Any,
        output_prefix: str = "",
        inputs: dict[str, Any] | None = None,
        task_execution_metadata: Any = None,
        **secrets: Any,
    ) -> OpenAIBatchJobMetadata:
        settings, key_secret, key = read_task(JobTaskSettings, task_template, inputs, task_execution_metadata)
        file_ids = [str(i) for i in (inputs or {}).get("input_file_ids") or []]
        return await self.start(
            settings, key_secret, secrets.get(KEY_SECRET_ID), key=key, input_file_ids=file_ids
        )

    async def start(
        self,
        settings: JobTaskSettings,
        key_secret: str,
        api_key: str | None,
        *,
        key: str,
        input_file_ids: list[str],
    ) -> OpenAIBatchJobMetadata:
        """Start the job's first parts, or find what a repeated call for this key already started."""
        settings = replace(settings, base_url=trusted_base_url(settings.base_url))
        job = Job(key, input_file_ids, time.time(), settings)
        if not job.done_at_create:
            client, api_key = _client(settings, key_secret, api_key)
            async with self._locks[key]:
                job = await self.runner.start(client, job, api_key)
        tokens = None if job.part_tokens is None else [[t, m] for t, m in job.part_tokens]
        return OpenAIBatchJobMetadata(
            key, input_file_ids, job.created_at, settings.to_custom(), key_secret, tokens
        )

    async def get(self, resource_meta: OpenAIBatchJobMetadata, **secrets: Any) -> Resource:
        """Where the job stands; on success its output `result` (see `openai_batch_jobs.job.state`)."""
        job = resource_meta.job()
        client, api_key = None, ""
        if not job.done_at_create:
            client, api_key = _client(job.settings, resource_meta.key_secret, secrets.get(KEY_SECRET_ID))
        report = await self.runner.poll(client, job, api_key)
        outputs = {"result": report.result} if report.result is not None else None
        return Resource(
            phase=PHASES[report.outcome],
            message=report.message,
            outputs=outputs,
            custom_info=report.custom_info,
        )

    async def delete(self, resource_meta: OpenAIBatchJobMetadata, **secrets: Any) -> None:
        await self.cancel_async(resource_meta, secrets.get(KEY_SECRET_ID))

    async def cancel_async(self, meta: OpenAIBatchJobMetadata, api_key: str | None) -> Cancelled:
        """Cancel every running batch of the job, then delete its input files (with `delete_input_files`)."""
        job = meta.job()
        if job.done_at_create:
            return Cancelled([])
        client, api_key = _client(job.settings, meta.key_secret, api_key)
        return await self.runner.cancel(client, job, api_key)

    def cancelled(self, meta: OpenAIBatchJobMetadata, api_key: str | None) -> str:
        """`cancel_async` for a local run's exit handler, which may run inside a loop or after it; what it did."""
        return run_on_own_loop(self.cancel_async(meta, api_key)).text()


def _client(settings: JobTaskSettings, key_secret: str, given: str | None) -> tuple[Any, str]:
    api_key = connector_key(given, key_secret)
    return shared_async_client(api_key, settings.openai_organization, settings.base_url), api_key


ConnectorRegistry.register(OpenAIBatchJobConnector())
