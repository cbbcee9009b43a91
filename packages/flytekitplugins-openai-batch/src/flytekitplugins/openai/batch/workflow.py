"""`create_batch`: the whole upload -> batch -> download chain as one Flyte workflow.

It lives here, in `flytekitplugins.openai.batch.workflow`, where upstream's plugin had it; the meta
package `flytekitplugins-openai` exports the same function as `flytekitplugins.openai.create_batch`.
"""

from __future__ import annotations

# flytekit's JSONL transformer matches typing.Iterator[JSON], not collections.abc.Iterator[JSON].
from typing import Any, Iterator  # noqa: UP035

from flytekit import Resources, Workflow
from flytekit.models.security import Secret
from flytekit.types.file import JSONLFile
from flytekit.types.iterator import JSON

from flytekitplugins.openai.files import (
    BatchResult,
    DownloadJSONFilesTask,
    OpenAIFileConfig,
    UploadJSONLFileTask,
)
from flytekitplugins.openai.files.validation import DEFAULT_MAX_BYTES, DEFAULT_MAX_REQUESTS

from .task import BatchEndpointTask


def create_batch(
    name: str,
    secret: Secret,
    openai_organization: str | None = None,
    config: dict[str, Any] | None = None,
    is_json_iterator: bool = True,
    file_upload_mem: str = "700Mi",
    file_download_mem: str = "700Mi",
    container_image: str | None = None,
    base_url: str | None = None,
    accept_partial_results: bool = False,
    max_requests: int = DEFAULT_MAX_REQUESTS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    fail_on_missing_requests: bool = False,
) -> Workflow:
    """Build a workflow that uploads requests, runs them as an OpenAI batch and downloads the results.

    The workflow takes `jsonl_in` (an `Iterator[JSON]`, or a `JSONLFile` when `is_json_iterator` is
    False) and returns `batch_output: BatchResult`. Task and workflow names match the public
    `flytekitplugins-openai` plugin, so registered entities keep their identity after a switch.

    :param name: Suffix of the workflow's and its tasks' names.
    :param secret: The Flyte secret holding the OpenAI API key, read by the upload and download tasks.
        The batch task's connector reads its own secret, `FLYTE_OPENAI_API_KEY`.
    :param openai_organization: OpenAI organization id, if the key belongs to several.
    :param config: Extra `batches.create` arguments, e.g. `endpoint`, `completion_window`, `metadata`.
    :param is_json_iterator: True for an iterator/generator of request dicts, False for a JSONL file.
    :param file_upload_mem: Memory request and limit of the upload task's pod.
    :param file_download_mem: Memory request and limit of the download task's pod.
    :param container_image: Image of the upload and download tasks; defaults to the published
        files image for this Python and plugin version.
    :param base_url: An OpenAI-compatible API (Azure OpenAI, a proxy, the emulator); when unset the
        `OPENAI_BASE_URL` environment variable of each pod / the connector, else OpenAI.
    :param accept_partial_results: Let an expired or cancelled batch succeed with the results it has.
    :param max_requests: Most requests the upload accepts (the Batch API's limit by default).
    :param max_bytes: Largest request file the upload accepts (the Batch API's limit by default).
    :param fail_on_missing_requests: Fail the download, rather than warn, when an input request is in
        neither result file.
    """
    suffix = name.replace(".", "")
    wf = Workflow(name=f"openai-batch-{suffix}")
    wf.add_workflow_input("jsonl_in", Iterator[JSON] if is_json_iterator else JSONLFile)

    file_config = OpenAIFileConfig(secret=secret, openai_organization=openai_organization, base_url=base_url)
    upload = UploadJSONLFileTask(
        name=f"openai-file-upload-{suffix}",
        task_config=file_config,
        container_image=container_image,
        max_requests=max_requests,
        max_bytes=max_bytes,
    )
    batch = BatchEndpointTask(
        name=f"openai-batch-{suffix}",
        config=dict(config or {}),
        openai_organization=openai_organization,
        base_url=base_url,
        accept_partial_results=accept_partial_results,
    )
    download = DownloadJSONFilesTask(
        name=f"openai-download-files-{suffix}",
        task_config=file_config,
        container_image=container_image,
        fail_on_missing_requests=fail_on_missing_requests,
    )

    uploaded = wf.add_entity(upload, jsonl_in=wf.inputs["jsonl_in"])
    created = wf.add_entity(batch, input_file_id=uploaded.outputs["result"])
    downloaded = wf.add_entity(download, batch_endpoint_result=created.outputs["result"])

    uploaded.with_overrides(requests=Resources(mem=file_upload_mem), limits=Resources(mem=file_upload_mem))
    downloaded.with_overrides(
        requests=Resources(mem=file_download_mem), limits=Resources(mem=file_download_mem)
    )

    wf.add_workflow_output("batch_output", downloaded.outputs["result"], BatchResult)
    return wf
