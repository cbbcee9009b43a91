"""BatchJobTask: the batches of a large input's parts as one Flyte task, run by the job connector.

The parts (input files of at most one batch's size each, from the upload-parts task) run as batches
at the same time, at most `max_in_flight` at once, under one connector task that owns them all: on a
cluster and in a local run alike. The task's declaration (type, interface, template) is the files
package's `JobTaskDeclaration`, which a collect step also declares in its pod; this class adds local
runs through the connector. The output `result` is a `JobResult`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flytekit import FlyteContextManager
from flytekit.models.task import TaskTemplate

from flytekitplugins.openai.core.keys import connector_api_key, connector_base_url
from flytekitplugins.openai.files.job_task import JobTaskDeclaration
from openai_batch_jobs.api.client import make_client
from openai_batch_jobs.errors import OpenAIBatchError
from openai_batch_jobs.job.settings import JOB_TASK_TYPE
from openai_batch_jobs.results.job_result import JobResult
from openai_batch_jobs.results.kept_answers import keep_answers

from .._compat import Resource, ResourceMeta, lookup_connector
from ..local.execution import LocalRunMixin

__all__ = ["BatchJobTask"]


class BatchJobTask(LocalRunMixin, JobTaskDeclaration):
    """Run one batch per input file (a job's parts) and wait for all; returns the job's `JobResult`.

    Takes the arguments of `JobTaskDeclaration` (``config``, ``openai_organization``, ``base_url``,
    ``accept_partial_results``, ``max_in_flight``, ``token_limit_wait_s``, ``token_limit_attempts``,
    ``delete_input_files``, ``resend_unanswered``, ``max_enqueued_tokens``, ``max_cost_usd``,
    ``prices``).
    """

    async def _create(
        self, task_template: TaskTemplate, output_prefix: str, inputs: dict[str, Any] | None = None
    ) -> ResourceMeta:
        """A local run's CreateTask; if it fails, the input files are deleted (nothing retries it)."""
        try:
            return await super()._create(task_template, output_prefix, inputs)
        except Exception as exc:
            file_ids = list((inputs or {}).get("input_file_ids") or [])
            note = lookup_connector(JOB_TASK_TYPE).discard_inputs(self.task_settings, file_ids)
            if note and isinstance(exc, OpenAIBatchError):
                # The same error, its message (what pyflyte prints) saying what became of the files.
                setattr(exc, "message", f"{exc.message} {note}")  # noqa: B010  (click types it Final)
                exc.args = (exc.message,)
            elif note:
                print(note, file=sys.stderr, flush=True)
            raise

    def _keep_answers(self, resource_meta: ResourceMeta, resource: Resource) -> str:
        """Download the answers of a job that failed (an expired, cancelled or failed part): they
        are paid for, and the collect step that would have kept them does not run."""
        file_ids = list((resource.custom_info or {}).get("output_file_ids") or [])
        if not any(file_ids):
            return ""
        settings = resource_meta.settings
        directory = FlyteContextManager.current_context().file_access.get_random_local_directory()
        api_key = connector_api_key()
        client = make_client(
            api_key,
            organization=settings.openai_organization,
            base_url=connector_base_url(settings.base_url),
        )
        with client:
            return keep_answers(client, file_ids, Path(directory) / "kept-answers", api_key)

    async def _get(self, resource_meta: ResourceMeta) -> Resource:
        """The local run's result as the `JobResult` the task declares (the connector's is its fields)."""
        resource = await super()._get(resource_meta)
        outputs = resource.outputs
        if isinstance(outputs, Mapping) and isinstance(outputs.get("result"), Mapping):
            resource.outputs = {"result": JobResult(**outputs["result"])}
        return resource
