"""The download task: a finished batch's output and error files, every request accounted for.

The work is the engine's (`results.batch_results`); this module declares the task and hands its
files to Flyte.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flytekit
from flytekit import kwtypes
from flytekit.configuration import SerializationSettings
from flytekit.core.interface import Interface
from flytekit.core.shim_task import ShimTaskExecutor
from flytekit.models.task import TaskTemplate
from flytekit.types.file import JSONLFile

from openai_batch_jobs.results.batch_results import download_batch_results, require_result_files

from ._task import OpenAIFileTask
from .config import OpenAIFileConfig
from .outputs.result import BatchResult
from .settings import DOWNLOAD_TASK_TYPE, DownloadSettings

__all__ = ["DownloadJSONFilesExecutor", "DownloadJSONFilesTask"]


class DownloadJSONFilesTask(OpenAIFileTask):
    """Downloads a batch's result files; ``fail_on_missing_requests`` turns lost requests into a failure."""

    _DOWNLOAD_JSON_FILES_TASK_TYPE = DOWNLOAD_TASK_TYPE

    def __init__(
        self,
        name: str,
        task_config: OpenAIFileConfig,
        container_image: str | None = None,
        fail_on_missing_requests: bool = False,
        **kwargs: Any,
    ) -> None:
        self._task_settings = DownloadSettings(task_config, fail_on_missing_requests)
        super().__init__(
            name=name,
            task_config=task_config,
            task_type=self._DOWNLOAD_JSON_FILES_TASK_TYPE,
            executor_type=DownloadJSONFilesExecutor,
            container_image=container_image,
            interface=Interface(
                inputs=kwtypes(batch_endpoint_result=dict), outputs=kwtypes(result=BatchResult)
            ),
            **kwargs,
        )

    def get_custom(self, settings: SerializationSettings) -> dict[str, Any]:
        return self._task_settings.to_custom()


class DownloadJSONFilesExecutor(ShimTaskExecutor[DownloadJSONFilesTask]):
    def execute_from_model(self, tt: TaskTemplate, **kwargs: Any) -> BatchResult:
        settings = DownloadSettings.from_custom(tt.custom, tt.id.name)
        batch = kwargs["batch_endpoint_result"]
        # Before the key is read: a batch with nothing to fetch fails the same with or without one.
        require_result_files(batch)
        client, api_key = settings.file_config.client()
        with client:  # releases its connection pool however the download ends
            files = download_batch_results(
                client,
                batch,
                Path(flytekit.current_context().working_directory),
                fail_on_missing_requests=settings.fail_on_missing_requests,
                api_key=api_key,
            )
        return BatchResult(
            output_file=JSONLFile(str(files.output_path)) if files.output_path else None,
            error_file=JSONLFile(str(files.error_path)) if files.error_path else None,
        )
