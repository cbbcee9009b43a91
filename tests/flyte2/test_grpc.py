"""The connectors served by flyte's own connector server (`c0`), driven over gRPC as the Flyte 2 backend
drives them (a failed call made again): a repeated CreateTask gets the same batches, GetTask reports
them done with the batch (or the job's result) as the output, DeleteTask cancels them, and a server
restarted mid-job carries on from the resource meta."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flyte
import openai
import pytest
from flyteidl2.core.execution_pb2 import TaskExecution

from flyteplugins.openai_batch import OpenAIBatch, OpenAIBatchJobTask, OpenAIBatchTask
from openai_batch_emulator import Emulator
from tests.flyte2.c0 import C0, wait_phase

pytestmark = pytest.mark.slow

REQUESTS = "".join(
    json.dumps(
        {
            "custom_id": f"r{n}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        }
    )
    + "\n"
    for n in range(3)
)


@pytest.fixture
def emulator_settings() -> dict[str, Any]:
    # Each batch validates for a while: running when first polled, done some seconds later.
    return {"validating_seconds": 4.0, "finalizing_seconds": 0.1}


@pytest.fixture
def service(tmp_path: Path, emulator: Emulator) -> Iterator[C0]:
    server = C0(tmp_path, {"FLYTE_OPENAI_API_KEY": emulator.api_key, "OPENAI_BASE_URL": emulator.base_url})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def task() -> OpenAIBatchTask:
    batch = OpenAIBatchTask("grpc", {"endpoint": "/v1/chat/completions"})
    flyte.TaskEnvironment.from_task("grpc_connector", batch)  # serialized as part of an environment
    return batch


@pytest.fixture
def job_task() -> OpenAIBatchJobTask:
    """The task `OpenAIBatch.run` calls for each round: two of its parts' batches at once."""
    return OpenAIBatch("grpc_job", {"endpoint": "/v1/chat/completions"}, max_in_flight=2).task


def upload(client: openai.OpenAI, tmp_path: Path, name: str = "requests") -> str:
    path = tmp_path / f"{name}.jsonl"
    path.write_text(REQUESTS, encoding="utf-8")
    with open(path, "rb") as f:
        return client.files.create(file=("requests.jsonl", f), purpose="batch").id


def test_repeated_create_get_and_restart(
    service: C0, task: OpenAIBatchTask, openai_client: openai.OpenAI, tmp_path: Path
) -> None:
    file_id = upload(openai_client, tmp_path)
    meta = service.create(task, key="job/r1/p0", input_file_id=file_id)
    again = service.create(task, key="job/r1/p0", input_file_id=file_id)
    assert json.loads(again)["batch_id"] == json.loads(meta)["batch_id"]
    # One batch in all, however often a slow CreateTask was made again.
    assert len(openai_client.batches.list().data) == 1, service.failed_calls
    running = service.get(meta)
    assert running.phase == TaskExecution.RUNNING, running.message
    # A new attempt of the task (Flyte retried it) gets a batch of its own.
    retried = service.create(task, attempt=1, key="job/r1/p0", input_file_id=file_id)
    assert json.loads(retried)["batch_id"] != json.loads(meta)["batch_id"]
    service.delete(retried)

    service.stop()
    service.start()
    done = wait_phase(service, meta, {TaskExecution.SUCCEEDED, TaskExecution.FAILED})
    assert done.phase == TaskExecution.SUCCEEDED, done.message + service.log()
    assert "completed" in done.message
    assert done.outputs.ByteSize() > 0
    assert done.custom_info["request_counts"]["completed"] == 3


def test_delete_cancels_the_batch(
    service: C0, task: OpenAIBatchTask, openai_client: openai.OpenAI, tmp_path: Path
) -> None:
    meta = service.create(task, key="job/r1/p0", input_file_id=upload(openai_client, tmp_path))
    batch_id = json.loads(meta)["batch_id"]
    service.delete(meta)
    assert openai_client.batches.retrieve(batch_id).status in ("cancelling", "cancelled")
    service.delete(meta)  # idempotent, as the backend may repeat it
    assert [b.id for b in openai_client.batches.list().data] == [batch_id]


def test_job_runs_its_parts_within_max_in_flight(
    service: C0, job_task: OpenAIBatchJobTask, openai_client: openai.OpenAI, tmp_path: Path
) -> None:
    file_ids = [upload(openai_client, tmp_path, f"part{n}") for n in range(3)]
    meta = service.create(job_task, key="job/r1", input_file_ids=file_ids)
    service.create(job_task, key="job/r1", input_file_ids=file_ids)
    # Two in flight, started once however often CreateTask came.
    assert len(openai_client.batches.list().data) == 2, service.failed_calls

    done = wait_phase(
        service, meta, {TaskExecution.SUCCEEDED, TaskExecution.FAILED}, task_type="openai_batch_job"
    )
    assert done.phase == TaskExecution.SUCCEEDED, done.message + service.log()
    batches = openai_client.batches.list().data
    assert sorted(b.input_file_id for b in batches) == sorted(file_ids)
    assert done.custom_info["parts"]["done"] == 3
    assert done.outputs.ByteSize() > 0


def test_job_delete_cancels_its_batches_and_deletes_its_inputs(
    service: C0, job_task: OpenAIBatchJobTask, openai_client: openai.OpenAI, tmp_path: Path
) -> None:
    file_ids = [upload(openai_client, tmp_path, f"part{n}") for n in range(2)]
    meta = service.create(job_task, key="job/r1", input_file_ids=file_ids)
    service.delete(meta, task_type="openai_batch_job")
    assert {b.status for b in openai_client.batches.list().data} <= {"cancelling", "cancelled"}
    assert [f.id for f in openai_client.files.list() if f.purpose == "batch"] == []
