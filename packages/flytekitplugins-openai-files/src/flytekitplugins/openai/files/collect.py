"""The collect task: one output file and one error file for a whole job, however many batches it ran as.

The work is the engine's (`openai_batch_jobs.results.job_collection`): each part's result files are
streamed onto the end of the job's two files, every part is accounted for like a single batch's
download, and the totals are printed. Once the results are safe, the job's input files are deleted
from the server (``delete_input_files``, on by default) and, if asked, the server's result files too
(``delete_result_files``). `create_batch` runs the same collection as its download step when it
neither sends requests again nor writes a results table (`rounds`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import flytekit
from flytekit.configuration import SerializationSettings
from flytekit.core.interface import Interface
from flytekit.core.shim_task import ShimTaskExecutor
from flytekit.models.task import TaskTemplate
from flytekit.types.file import JSONLFile

from openai_batch_jobs.files.download import download_file
from openai_batch_jobs.results.batch_results import account_for_requests
from openai_batch_jobs.results.job_collection import ServerCleanup, collect_job
from openai_batch_jobs.results.job_result import batches_of

from ._task import OpenAIFileTask
from .config import OpenAIFileConfig
from .outputs.result import BatchResult
from .settings import COLLECT_TASK_TYPE, CollectSettings


class CollectResultsTask(OpenAIFileTask):
    """Downloads every part's results of a job into one output file and one error file.

    Its input `job_result` is the job task's result as a dict, ``{"batches": [batch, ...]}`` in part
    order (a single batch dict, as `BatchEndpointTask` returns it, is taken as a job of one part).
    """

    _COLLECT_TASK_TYPE = COLLECT_TASK_TYPE

    def __init__(
        self,
        name: str,
        task_config: OpenAIFileConfig,
        container_image: str | None = None,
        fail_on_missing_requests: bool = False,
        delete_input_files: bool = True,
        delete_result_files: bool = False,
        **kwargs: Any,
    ) -> None:
        cleanup = ServerCleanup(delete_input_files, delete_result_files, fail_on_missing_requests)
        self._task_settings = CollectSettings(task_config, cleanup)
        super().__init__(
            name=name,
            task_config=task_config,
            task_type=self._COLLECT_TASK_TYPE,
            executor_type=CollectResultsExecutor,
            container_image=container_image,
            interface=Interface(inputs={"job_result": dict}, outputs={"result": BatchResult}),
            **kwargs,
        )

    def get_custom(self, settings: SerializationSettings) -> dict[str, Any]:
        return self._task_settings.to_custom()


class CollectResultsExecutor(ShimTaskExecutor[CollectResultsTask]):
    def execute_from_model(self, tt: TaskTemplate, **kwargs: Any) -> BatchResult:
        settings = CollectSettings.from_custom(tt.custom, tt.id.name)
        workdir = Path(flytekit.current_context().working_directory)
        return collect_files(settings, batches_of(kwargs["job_result"]), workdir)


def collect_files(
    settings: CollectSettings, batches: Sequence[Mapping[str, Any]], workdir: Path
) -> BatchResult:
    """Join the parts' result files into the job's two (see the module's docstring)."""
    client, api_key = settings.file_config.client()
    with client:  # releases its connection pool however the collection ends
        job = collect_job(
            client,
            batches,
            workdir,
            download=partial(download_file, client, api_key=api_key),
            account=partial(account_for_requests, client, directory=workdir, api_key=api_key),
            cleanup=settings.cleanup,
            api_key=api_key,
        )
    return BatchResult(
        output_file=JSONLFile(str(job.output_path)) if job.output_path else None,
        error_file=JSONLFile(str(job.error_path)) if job.error_path else None,
    )
