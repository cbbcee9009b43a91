"""The chain one piece at a time: task objects, executors on serialized templates, the connector itself.

This is how Flyte runs them for real: the upload and download executors get only the task template
(as `pyflyte-execute` would hand it over), and the connector gets the template and literal inputs
(as FlytePropeller sends them), with its resource meta going through bytes between calls.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from flyteidl.core.execution_pb2 import TaskExecution
from flytekit.types.file import JSONLFile

from flytekitplugins.openai import DownloadJSONFilesExecutor, UploadJSONLFileExecutor
from flytekitplugins.openai.batch import BatchEndpointMetadata
from integration.support.chain import (
    batch_task,
    chat_requests,
    connector,
    download_task,
    embedding_requests,
    literal_inputs,
    python_outputs,
    read_jsonl,
    task_template,
    upload_task,
    write_jsonl,
)
from integration.support.target import Target

pytestmark = [pytest.mark.vcr, pytest.mark.block_network]

TERMINAL = (
    TaskExecution.SUCCEEDED,
    TaskExecution.FAILED,
    TaskExecution.RETRYABLE_FAILED,
    TaskExecution.ABORTED,
)


def _upload(target: Target, path: Path) -> str:
    """Run the upload executor on the serialized template, as the task's pod does."""
    template = task_template(upload_task(target))
    file_id = UploadJSONLFileExecutor().execute_from_model(template, jsonl_in=JSONLFile(str(path)))
    assert isinstance(file_id, str)
    assert file_id
    return file_id


@pytest.mark.emulator("failing chosen requests", fail_custom_ids=r"-(1|3)$")
def test_failed_requests_land_in_the_error_file(target: Target, tmp_path: Path) -> None:
    file_id = _upload(target, write_jsonl(tmp_path / "requests.jsonl", chat_requests(5)))

    batch = batch_task(target)(input_file_id=file_id)
    assert batch["status"] == "completed"
    assert batch["request_counts"] == {"total": 5, "completed": 3, "failed": 2}

    template = task_template(download_task(target))
    result = DownloadJSONFilesExecutor().execute_from_model(template, batch_endpoint_result=batch)
    assert result.output_file is not None
    assert result.error_file is not None
    succeeded = read_jsonl(result.output_file.download())
    failed = read_jsonl(result.error_file.download())
    assert [line["custom_id"] for line in succeeded] == ["chat-0", "chat-2", "chat-4"]
    assert [line["custom_id"] for line in failed] == ["chat-1", "chat-3"]
    assert {line["response"]["status_code"] for line in failed} == {500}


def test_input_refused_at_validation_fails_the_batch(target: Target, tmp_path: Path) -> None:
    # A consistent file of embeddings requests passes the upload task's checks, but the batch is
    # created for chat completions: the server refuses it while validating (OpenAI does the same).
    upload = upload_task(target)
    file_id = upload(
        jsonl_in=JSONLFile(str(write_jsonl(tmp_path / "embeddings.jsonl", embedding_requests(2))))
    )

    task = batch_task(target, endpoint="/v1/chat/completions")
    # flytekit wraps the connector's failure in a version-dependent exception type: check its message.
    with pytest.raises(Exception, match=r"Batch batch_\w+ failed: ") as caught:
        task(input_file_id=file_id)
    assert "(line " in str(caught.value), "the failure names the offending input line"
    if target.kind == "emulator":
        assert "url_mismatch" in str(caught.value)


@pytest.mark.emulator("a completion window of 1.2 s", requests_per_second=2, completion_window_seconds=1.2)
def test_expired_batch_fails_unless_partial_results_are_accepted(target: Target, tmp_path: Path) -> None:
    file_id = _upload(target, write_jsonl(tmp_path / "requests.jsonl", chat_requests(4)))
    with pytest.raises(Exception, match=r"expired.*accept_partial_results=True"):
        batch_task(target)(input_file_id=file_id)


def _poll(target: Target, meta: BatchEndpointMetadata, until: Any) -> Any:
    """GetTask as propeller calls it: the meta arrives as bytes every time."""
    for _ in range(200):
        resource = asyncio.run(connector().get(resource_meta=BatchEndpointMetadata.decode(meta.encode())))
        if until(resource):
            return resource
        target.pause(0.1)
    raise AssertionError("the batch never reached the awaited state")


# Slow processing, so the batch is still running (with some answers) when it is cancelled.
@pytest.mark.emulator("slow processing to cancel mid-way", requests_per_second=4)
def test_batch_cancelled_while_running(target: Target, tmp_path: Path) -> None:
    file_id = _upload(target, write_jsonl(tmp_path / "requests.jsonl", chat_requests(40)))

    task = batch_task(target, accept_partial_results=True)
    template = task_template(task)
    meta = asyncio.run(
        connector().create(
            task_template=template,
            inputs=literal_inputs(task, input_file_id=file_id),
            output_prefix=str(tmp_path / "outputs"),
        )
    )
    assert isinstance(meta, BatchEndpointMetadata)

    running = _poll(target, meta, lambda r: r.custom_info.get("request_counts", {}).get("completed", 0) >= 1)
    assert running.phase == TaskExecution.RUNNING

    asyncio.run(connector().delete(resource_meta=BatchEndpointMetadata.decode(meta.encode())))
    done = _poll(target, meta, lambda r: r.phase in TERMINAL)

    # accept_partial_results: the cancelled batch succeeds with what it had answered.
    assert done.phase == TaskExecution.SUCCEEDED, done.message
    batch = python_outputs(task, done.outputs)["result"]
    assert batch["status"] == "cancelled"
    answered = batch["request_counts"]["completed"]
    assert 1 <= answered < 40

    result = download_task(target)(batch_endpoint_result=batch)
    assert result.output_file is not None
    assert len(read_jsonl(result.output_file.download())) == answered
