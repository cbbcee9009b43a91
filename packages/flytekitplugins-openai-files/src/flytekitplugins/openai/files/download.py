"""The download task: fetch a finished batch's output and error files, and account for every request."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import flytekit
from flytekit import kwtypes, lazy_module
from flytekit.configuration import SerializationSettings
from flytekit.core.interface import Interface
from flytekit.core.shim_task import ShimTaskExecutor
from flytekit.models.task import TaskTemplate
from flytekit.types.file import JSONLFile

from openai_batch_jobs.api.batch_api import batch_error_text, batch_errors
from openai_batch_jobs.api.redact import redact
from openai_batch_jobs.api.retry import (
    TRANSFER,
    Deadline,
    call_with_retries,
    describe_failure,
    transient_errors,
)
from openai_batch_jobs.errors import BatchResultError, TransferError
from openai_batch_jobs.results.reconcile import (
    Reconciliation,
    RequestTally,
    counted_requests,
    reconcile,
    request_total,
)
from openai_batch_jobs.words import warn

from ._task import OpenAIFileTask
from .config import OpenAIFileConfig
from .result import BatchResult
from .settings import DOWNLOAD_TASK_TYPE, DownloadSettings

openai = lazy_module("openai")

# The HTTP library reads 64 KiB at a time: asking for larger chunks only makes it join (and copy) them.
_CHUNK = 1 << 16


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
        output_id, error_id = require_result_files(batch)
        client, api_key = settings.file_config.client()
        with client:  # releases its connection pool however the download ends
            return download_batch_results(
                client,
                batch,
                output_id,
                error_id,
                Path(flytekit.current_context().working_directory),
                fail_on_missing_requests=settings.fail_on_missing_requests,
                api_key=api_key,
            )


def download_batch_results(
    client: Any,
    batch: Mapping[str, Any],
    output_id: str | None,
    error_id: str | None,
    directory: Path,
    *,
    fail_on_missing_requests: bool = False,
    api_key: str | None = None,
) -> BatchResult:
    """Download whichever result files the batch produced, then compare them with its input file."""
    batch_id = batch_label(batch)
    result = BatchResult()
    tally = RequestTally(expected=request_total(batch) or 0)
    if output_id:
        path = directory / f"{batch_id}-output.jsonl"
        download_file(client, output_id, path, api_key=api_key)
        tally.add_output_file(str(path))
        result.output_file = JSONLFile(str(path))
    if error_id:
        path = directory / f"{batch_id}-error.jsonl"
        download_file(client, error_id, path, api_key=api_key)
        tally.add_error_file(str(path))
        result.error_file = JSONLFile(str(path))

    _account_for_requests(client, batch, batch_id, tally, directory, fail_on_missing_requests, api_key)
    return result


def _account_for_requests(
    client: Any,
    batch: Mapping[str, Any],
    batch_id: str,
    tally: RequestTally,
    directory: Path,
    fail_on_missing_requests: bool,
    api_key: str | None,
) -> None:
    outcome = account_for_requests(
        client, batch, tally, directory, fail_on_missing_requests=fail_on_missing_requests, api_key=api_key
    )
    if outcome is None:
        return
    # Printed, not logged: pyflyte shows only CRITICAL logs by default, and this count always matters.
    print(outcome.summary(batch_id), flush=True)
    if outcome.missing:
        message = outcome.missing_message(batch_id)
        if fail_on_missing_requests:
            raise BatchResultError(message + " (fail_on_missing_requests is set)")
        warn(message)


def account_for_requests(
    client: Any,
    batch: Mapping[str, Any],
    tally: RequestTally,
    directory: Path,
    *,
    fail_on_missing_requests: bool = False,
    api_key: str | None = None,
) -> Reconciliation | None:
    """Account for a batch's requests from its results (in ``tally``): by the batch's own count when
    the files agree with it, else against its input file, fetched for that.

    None (after a warning) when the input cannot be read, unless ``fail_on_missing_requests``.
    """
    batch_id = batch_label(batch)
    # The batch's own count settles it when the result files agree with it; the input file, fetched
    # and read again only to name what is missing, is needed only when they do not.
    counted = counted_requests(batch, tally)
    if counted is not None:
        return counted
    input_id = batch.get("input_file_id")
    if not input_id:
        warn(
            f"Batch {batch_id}: {tally.succeeded} succeeded, {tally.failed} failed; no input_file_id in the "
            "batch, so requests missing from both files cannot be counted"
        )
        return None
    input_path = directory / f".{batch_id}-input.jsonl"
    try:
        download_file(client, input_id, input_path, api_key=api_key)
        return reconcile(str(input_path), tally)
    except (TransferError, OSError) as e:
        # The results are already downloaded: losing them because the input (only needed for
        # counting) was deleted or unreachable helps nobody, unless the count was asked for.
        reason = redact(str(e), api_key)
        if fail_on_missing_requests:
            raise BatchResultError(
                f"Batch {batch_id}: cannot read its input file {input_id} to check that no request is "
                f"missing, and fail_on_missing_requests is set: {reason}"
            ) from None
        warn(
            f"Batch {batch_id}: {tally.succeeded} succeeded, {tally.failed} failed; cannot read its input "
            f"file {input_id} ({reason}), so requests missing from both result files are not counted"
        )
        return None
    finally:
        input_path.unlink(missing_ok=True)


def require_result_files(batch: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The batch's output and error file ids; a batch with neither is an error naming it and its status."""
    output_id = batch.get("output_file_id") or None
    error_id = batch.get("error_file_id") or None
    if not output_id and not error_id:
        errors = f" (errors: {batch_error_text(batch)})" if batch_errors(batch) else ""
        raise BatchResultError(
            f"Batch {batch_label(batch)} (status {batch.get('status')!r}) produced neither an output file nor "
            f"an error file{errors}; there is nothing to download."
        )
    return output_id, error_id


def batch_label(batch: Mapping[str, Any]) -> str:
    """The batch's id, as messages name it."""
    return str(batch.get("id") or "(unknown id)")


def download_file(client: Any, file_id: str, dest: Path, *, api_key: str | None = None) -> int:
    """Stream a file to ``dest`` atomically; a connection cut mid-body or a short body is tried again.

    The SDK retries failures before the response starts; a body that breaks off is ours to retry,
    under the same transfer policy (as many retries as the client's), and a partial file never
    appears at ``dest`` (it is written beside it, then renamed).
    """
    retries = int(client.max_retries)
    try:
        expected: int | None = client.files.retrieve(file_id).bytes
    except (openai.APIStatusError, *transient_errors()) as e:
        raise TransferError(describe_failure(f"Looking up file {file_id}", e, api_key, retries)) from None

    problems: list[str] = []

    def attempt(_: Deadline) -> int:
        if problems:  # on stderr: a user waiting on a slow download should see why
            warn(f"Downloading file {file_id} again (retry {len(problems)} of {retries}): {problems[-1]}")
        fd, part = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as sink:
                size = _stream_body(client, file_id, sink, retries, api_key)
            if expected is not None and size != expected:
                raise _BodyCut(f"got {size:,} bytes, expected {expected:,}")
            os.replace(part, dest)
            return size
        except _BodyCut as cut:
            problems.append(cut.reason)
            raise
        finally:
            if os.path.exists(part):
                os.unlink(part)

    try:
        return call_with_retries(
            attempt,
            TRANSFER.with_retries(retries),
            action=f"Downloading file {file_id}",
            retry_if=lambda e: isinstance(e, _BodyCut),
        )
    except _BodyCut as cut:
        raise TransferError(
            redact(f"Downloading file {file_id} failed after {retries} retries: {cut.reason}", api_key)
        ) from None


class _BodyCut(Exception):
    """The body ended early or broke off: the whole download is worth another try."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _stream_body(client: Any, file_id: str, sink: Any, retries: int, api_key: str | None) -> int:
    size = 0
    transient = transient_errors()
    try:
        with client.files.with_streaming_response.content(file_id) as response:
            try:
                for chunk in response.iter_bytes(_CHUNK):
                    sink.write(chunk)
                    size += len(chunk)
            except transient as e:
                raise _BodyCut(f"connection lost after {size:,} bytes ({type(e).__name__})") from None
    except (openai.APIStatusError, *transient) as e:
        # Raised before the body started: the SDK has already spent its retries on it.
        raise TransferError(describe_failure(f"Downloading file {file_id}", e, api_key, retries)) from None
    return size
