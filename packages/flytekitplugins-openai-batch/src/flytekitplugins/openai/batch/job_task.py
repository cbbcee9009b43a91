"""BatchJobTask: the batches of a large input's parts as one Flyte task, run by the job connector.

The parts (input files of at most one batch's size each, from the upload-parts task) run as batches
at the same time, at most `max_in_flight` at once, under one connector task that owns them all: on a
cluster and in a local run alike. The output `result` is described in `job_state`.
"""

from __future__ import annotations

import sys
from typing import Any

from flytekit.configuration import SerializationSettings
from flytekit.core.base_task import PythonTask, kwtypes
from flytekit.core.interface import Interface
from flytekit.models.task import TaskTemplate

from openai_batch_jobs.api.batch_config import check_base_url
from openai_batch_jobs.errors import OpenAIBatchError

from ._compat import ResourceMeta, lookup_connector
from .job_settings import (
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_TOKEN_LIMIT_ATTEMPTS,
    DEFAULT_TOKEN_LIMIT_WAIT_S,
    JOB_TASK_TYPE,
    JobTaskSettings,
)
from .local_execution import LocalRunMixin

__all__ = ["BatchJobTask"]


class BatchJobTask(LocalRunMixin, PythonTask):
    """Run one batch per input file (a job's parts) and wait for all; returns the job's result dict.

    :param config: `batches.create` arguments for every part's batch, as BatchEndpointTask takes them.
    :param openai_organization: OpenAI organization id, if the connector's key belongs to several.
    :param base_url: An OpenAI-compatible API; default: the connector's OPENAI_BASE_URL, else OpenAI.
    :param accept_partial_results: Succeed with the parts that have results when others fail (bad
        input, expired, cancelled); the failed parts are listed in the result's `failed_parts`.
    :param max_in_flight: How many of the job's batches run at once; the rest start as these end.
    :param token_limit_wait_s: How long a part whose batch OpenAI refused for its enqueued token limit
        (`token_limit_exceeded`) waits before it is submitted again.
    :param token_limit_attempts: How many such batches a part may have before the job fails.
    :param delete_input_files: When the job fails for good (not a failure Flyte retries with the same
        files) or is aborted, delete its input files from the server: nothing can use them any more.
        (After a success the collect step of `create_batch` deletes them, by its own setting.)
    """

    _TASK_TYPE = JOB_TASK_TYPE

    def __init__(
        self,
        name: str,
        config: dict[str, Any],
        openai_organization: str | None = None,
        base_url: str | None = None,
        accept_partial_results: bool = False,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        token_limit_wait_s: float = DEFAULT_TOKEN_LIMIT_WAIT_S,
        token_limit_attempts: int = DEFAULT_TOKEN_LIMIT_ATTEMPTS,
        delete_input_files: bool = True,
        **kwargs: Any,
    ) -> None:
        check_base_url(base_url, f"BatchJobTask {name!r}")
        self._task_settings = JobTaskSettings(
            config=dict(config or {}),
            openai_organization=openai_organization,
            base_url=base_url,
            accept_partial_results=accept_partial_results,
            max_in_flight=max_in_flight,
            token_limit_wait_s=float(token_limit_wait_s),
            token_limit_attempts=token_limit_attempts,
            delete_input_files=delete_input_files,
        )
        self._task_settings.check(name)
        super().__init__(
            name=name,
            task_type=self._TASK_TYPE,
            interface=Interface(inputs=kwtypes(input_file_ids=list[str]), outputs=kwtypes(result=dict)),
            **kwargs,
        )

    def get_custom(self, settings: SerializationSettings) -> dict[str, Any]:
        return self._task_settings.to_custom()

    async def _create(
        self, task_template: TaskTemplate, output_prefix: str, inputs: dict[str, Any] | None = None
    ) -> ResourceMeta:
        """A local run's CreateTask; if it fails, the input files are deleted (nothing retries it)."""
        try:
            return await super()._create(task_template, output_prefix, inputs)
        except Exception as exc:
            file_ids = list((inputs or {}).get("input_file_ids") or [])
            note = lookup_connector(JOB_TASK_TYPE).discard_inputs(self._task_settings, file_ids)
            if note and isinstance(exc, OpenAIBatchError):
                # The same error, its message (what pyflyte prints) saying what became of the files.
                setattr(exc, "message", f"{exc.message} {note}")  # noqa: B010  (click types it Final)
                exc.args = (exc.message,)
            elif note:
                print(note, file=sys.stderr, flush=True)
            raise
