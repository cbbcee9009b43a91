"""BatchEndpointTask: one OpenAI batch as a Flyte task, run by the `openai-batch` connector.

This module also re-exports the files package's names, so that code written against the public
`flytekitplugins.openai.batch.task` module keeps importing everything from here.
"""

from __future__ import annotations

import copy
from typing import Any

from flytekit.configuration import SerializationSettings
from flytekit.core.base_task import PythonTask, kwtypes
from flytekit.core.interface import Interface

from flytekitplugins.openai.files import (
    BatchResult,
    DownloadJSONFilesExecutor,
    DownloadJSONFilesTask,
    OpenAIFileConfig,
    OpenAIFileDefaultImages,
    UploadJSONLFileExecutor,
    UploadJSONLFileTask,
)
from openai_batch_jobs.api.batch_config import TASK_TYPE, BatchConfig, check_base_url
from openai_batch_jobs.job.settings import BatchTaskSettings

from .local.execution import LocalRunMixin

__all__ = [
    "BatchEndpointTask",
    "BatchResult",
    "DownloadJSONFilesExecutor",
    "DownloadJSONFilesTask",
    "OpenAIFileConfig",
    "OpenAIFileDefaultImages",
    "UploadJSONLFileExecutor",
    "UploadJSONLFileTask",
]


class BatchEndpointTask(LocalRunMixin, PythonTask):
    """Create an OpenAI batch from an uploaded JSONL file and wait for it; returns the batch as a dict.

    :param config: `batches.create` arguments: `endpoint` (default "/v1/chat/completions"),
        `completion_window` (default "24h"), `metadata`, `output_expires_after`, and the SDK's call
        options `extra_headers`, `extra_query`, `extra_body`, `timeout`. Checked here, so a typo fails
        at definition time rather than in the connector.
    :param openai_organization: OpenAI organization id, if the connector's key belongs to several.
    :param base_url: An OpenAI-compatible API; default: the connector's OPENAI_BASE_URL, else OpenAI.
    :param accept_partial_results: Succeed with the results of an expired or cancelled batch
        (when it produced an output or error file) instead of failing.
    """

    _TASK_TYPE = TASK_TYPE

    def __init__(
        self,
        name: str,
        config: dict[str, Any],
        openai_organization: str | None = None,
        base_url: str | None = None,
        accept_partial_results: bool = False,
        **kwargs: Any,
    ) -> None:
        BatchConfig.parse(config, task_name=name)
        check_base_url(base_url, f"BatchEndpointTask {name!r}")
        super().__init__(
            name=name,
            task_type=self._TASK_TYPE,
            interface=Interface(inputs=kwtypes(input_file_id=str), outputs=kwtypes(result=dict)),
            **kwargs,
        )
        self._task_settings = BatchTaskSettings(
            config=copy.deepcopy(dict(config or {})),
            openai_organization=openai_organization,
            base_url=base_url,
            accept_partial_results=accept_partial_results,
        )

    def get_custom(self, settings: SerializationSettings) -> dict[str, Any]:
        return self._task_settings.to_custom()
