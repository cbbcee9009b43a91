"""BatchEndpointTask: one OpenAI batch as a Flyte task, run by the `openai-batch` connector.

This module also re-exports the files package's names, so that code written against the public
`flytekitplugins.openai.batch.task` module keeps importing everything from here.
"""

from __future__ import annotations

import copy
import sys
from types import FrameType
from typing import Any

from flytekit.configuration import SerializationSettings
from flytekit.core.base_task import PythonTask, kwtypes
from flytekit.core.interface import Interface

from flytekitplugins.openai.core.errors import BatchConfigError
from flytekitplugins.openai.files import (
    BatchResult,
    DownloadJSONFilesExecutor,
    DownloadJSONFilesTask,
    OpenAIFileConfig,
    OpenAIFileDefaultImages,
    UploadJSONLFileExecutor,
    UploadJSONLFileTask,
)

from ._compat import AsyncExecutorMixin, Resource, ResourceMeta, lookup_connector
from .config import TASK_TYPE, BatchConfig, is_http_url
from .local_poll import poll_until_done
from .settings import BatchTaskSettings

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


class BatchEndpointTask(AsyncExecutorMixin, PythonTask):
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
        if base_url is not None and not is_http_url(base_url):
            raise BatchConfigError(
                f"base_url of BatchEndpointTask {name!r} must be an http(s) URL, got {base_url!r}."
            )
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
        self._finished_batches: set[str] = set()

    def get_custom(self, settings: SerializationSettings) -> dict[str, Any]:
        return self._task_settings.to_custom()

    def execute(self, **kwargs: Any) -> Any:
        try:
            return super().execute(**kwargs)
        finally:
            # Ctrl-C handlers stay registered for the life of the process; this one's batch is done.
            meta = getattr(self, "resource_meta", None)
            if meta is not None:
                self._finished_batches.add(getattr(meta, "batch_id", ""))

    async def _get(self, resource_meta: ResourceMeta) -> Resource:
        """A local run's wait for the batch: flytekit's loop, polling soon and then backing off."""
        return await poll_until_done(
            self.name, lookup_connector(TASK_TYPE), resource_meta, lambda: self._clean_up_task
        )

    def agent_signal_handler(self, resource_meta: ResourceMeta, signum: int, frame: FrameType | None) -> Any:
        """Ctrl-C in a local run (flytekit 1.15): cancel the batch on the server before exiting."""
        self._cancel_after_signal(resource_meta)

    def connector_signal_handler(
        self, resource_meta: ResourceMeta, signum: int, frame: FrameType | None
    ) -> Any:
        """Ctrl-C in a local run (flytekit 1.16+): cancel the batch on the server before exiting."""
        self._cancel_after_signal(resource_meta)

    def _cancel_after_signal(self, resource_meta: ResourceMeta) -> None:
        # flytekit's own handler calls asyncio.run() inside the running local event loop, which fails;
        # the connector's `cancel` is `delete` without an event loop, so it runs right here.
        batch_id = getattr(resource_meta, "batch_id", "?")
        if batch_id not in self._finished_batches:
            try:
                lookup_connector(TASK_TYPE).cancel(resource_meta)
                print(f"Cancelled OpenAI batch {batch_id}.", file=sys.stderr, flush=True)
            except Exception as exc:
                print(f"Could not cancel OpenAI batch {batch_id}: {exc}", file=sys.stderr, flush=True)
        self._clean_up_task = True
