"""The upload task: validate the request file, then stream it to OpenAI Files with purpose ``batch``."""

from __future__ import annotations

import os
from typing import Any

from flytekit import kwtypes, lazy_module
from flytekit.configuration import SerializationSettings
from flytekit.core.interface import Interface
from flytekit.core.shim_task import ShimTaskExecutor
from flytekit.loggers import logger
from flytekit.models.task import TaskTemplate
from flytekit.types.file import JSONLFile

from flytekitplugins.openai.core.errors import TransferError
from flytekitplugins.openai.core.retry import describe_failure, transient_errors

from ._task import OpenAIFileTask
from .config import OpenAIFileConfig
from .settings import UPLOAD_TASK_TYPE, UploadSettings
from .validation import DEFAULT_MAX_BYTES, DEFAULT_MAX_REQUESTS, ValidationLimits, validate_request_file

openai = lazy_module("openai")


class UploadJSONLFileTask(OpenAIFileTask):
    """Uploads a JSONL request file and returns its file id; ``max_requests``/``max_bytes`` suit other servers."""

    _UPLOAD_JSONL_FILE_TASK_TYPE = UPLOAD_TASK_TYPE

    def __init__(
        self,
        name: str,
        task_config: OpenAIFileConfig,
        container_image: str | None = None,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        **kwargs: Any,
    ) -> None:
        self._task_settings = UploadSettings(
            task_config, ValidationLimits(max_requests=max_requests, max_bytes=max_bytes)
        )
        super().__init__(
            name=name,
            task_config=task_config,
            task_type=self._UPLOAD_JSONL_FILE_TASK_TYPE,
            executor_type=UploadJSONLFileExecutor,
            container_image=container_image,
            interface=Interface(inputs=kwtypes(jsonl_in=JSONLFile), outputs=kwtypes(result=str)),
            **kwargs,
        )

    def get_custom(self, settings: SerializationSettings) -> dict[str, Any]:
        return self._task_settings.to_custom()


class UploadJSONLFileExecutor(ShimTaskExecutor[UploadJSONLFileTask]):
    def execute_from_model(self, tt: TaskTemplate, **kwargs: Any) -> str:
        settings = UploadSettings.from_custom(tt.custom, tt.id.name)
        local_path = kwargs["jsonl_in"].download()
        # Validation needs no key and sends nothing: a bad file fails here, whatever the secrets.
        summary = validate_request_file(local_path, settings.limits)
        logger.info(
            f"Request file is valid: {summary.requests} requests, {summary.bytes:,} bytes, "
            f"url {summary.url}, model {summary.model}"
        )
        client, api_key = settings.file_config.client()
        with client:  # releases its connection pool however the upload ends
            file_id = upload_request_file(client, local_path, api_key=api_key)
        logger.info(f"Uploaded {summary.requests} requests as file {file_id}")
        return file_id


def upload_request_file(client: Any, path: str, *, api_key: str | None = None) -> str:
    """Stream the file (never read whole); the SDK rewinds the handle on each retry of a transient fault."""
    name = os.path.basename(path)
    if not name.endswith(".jsonl"):
        name += ".jsonl"  # OpenAI accepts batch input only from files named .jsonl
    try:
        with open(path, "rb") as stream:
            uploaded = client.files.create(file=(name, stream, "application/jsonl"), purpose="batch")
    except (openai.APIStatusError, *transient_errors()) as e:
        raise TransferError(describe_failure(f"Uploading {name}", e, api_key, client.max_retries)) from None
    return str(uploaded.id)
