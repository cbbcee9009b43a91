"""What a job leaves on the server when it does not succeed, counted through the SDK: the real
`pyflyte serve connector` job_service, driven as FlytePropeller drives it, against the emulator.

A job that fails for good or is aborted has its input files deleted; one Flyte retries
(RETRYABLE_FAILED) keeps them, as does a job with `delete_input_files=False`.
"""

from __future__ import annotations

import json

import openai
import pytest
from flyteidl.core.execution_pb2 import TaskExecution
from google.protobuf.json_format import MessageToDict

from openai_batch_emulator import Emulator
from tests.support.waiting import wait_until

from .flyte_models import execution_metadata_pb, job_inputs_pb
from .job_support import (
    WAIT_S,
    failed_on_a_bad_part,
    get,
    job_batches,
    job_on,
    job_until,
    out_of_room,
    poll,
    upload_parts,
)
from .service import JOB_TASK_TYPE, ConnectorService

pytestmark = pytest.mark.slow


def server_files(client: openai.OpenAI) -> set[str]:
    return {f.id for f in client.files.list().data}


def test_a_job_the_server_fails_has_its_input_files_deleted(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    file_ids, meta, resource = failed_on_a_bad_part(job_service, emulator, openai_client, "left-bad")
    # The reason comes first, then what became of the files.
    assert resource.message.startswith(f"Job failed: part 2 ({file_ids[1]}): batch "), resource.message
    assert resource.message.endswith("Deleted its 3 input files from the server."), resource.message
    assert server_files(openai_client) == set()
    # The batches stay (the API has no delete for them), none of them running.
    batches = job_batches(openai_client, json.loads(meta)["key"])
    assert len(batches) == 3
    assert {b.status for b in batches} <= {"failed", "cancelling", "cancelled", "completed"}


def test_an_aborted_job_has_its_batches_cancelled_then_its_input_files_deleted(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    emulator.configure(requests_per_second=0, cancelling_seconds=0.5)  # in progress until cancelled
    file_ids = upload_parts(openai_client, parts=2)
    meta = job_service.create(job_on(emulator), job_inputs_pb(file_ids), execution_metadata_pb("left-abort"))
    key = json.loads(meta)["key"]
    poll(job_service, meta, TaskExecution.RUNNING, until=lambda r: "2 running" in r.message)
    job_service.delete(meta, task_type=JOB_TASK_TYPE)
    assert server_files(openai_client) == set()

    # Deleting the input of a cancelling batch is allowed (as on OpenAI): it still ends cancelled.
    def cancelled() -> bool:
        statuses = {b.status for b in job_batches(openai_client, key)}
        assert statuses <= {"cancelling", "cancelled"}, statuses
        return statuses == {"cancelled"}

    wait_until(cancelled, timeout=WAIT_S, what="every batch cancelled")
    assert all(b.errors is None for b in job_batches(openai_client, key))
    job_service.delete(meta, task_type=JOB_TASK_TYPE)  # propeller may abort twice: nothing left to do
    assert len(job_batches(openai_client, key)) == 2


def test_a_job_flyte_retries_keeps_its_input_files(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    file_ids, _, resource = out_of_room(
        job_service, emulator, openai_client, parts=2, attempts=1, name="left-retry"
    )
    assert "Kept the input files: the task's retry sends them again." in resource.message
    assert server_files(openai_client) == set(file_ids)


def test_with_delete_input_files_off_a_failed_job_keeps_them(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    file_ids = upload_parts(openai_client, parts=1, bad_part=0)
    _, _, resource = job_until(
        TaskExecution.FAILED, job_service, emulator, "left-keep", file_ids, delete_input_files=False
    )
    assert "Deleted" not in resource.message
    assert server_files(openai_client) == set(file_ids)


def test_a_delete_cut_short_by_a_transient_fault_is_finished_at_the_next_poll(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    file_ids = upload_parts(openai_client, parts=1, bad_part=0)
    meta = job_service.create(job_on(emulator), job_inputs_pb(file_ids), execution_metadata_pb("left-503"))
    # The job fails at validation; wait for that without a GetTask (which would delete at once).
    wait_until(
        lambda: openai_client.batches.list().data[0].status == "failed", timeout=WAIT_S, what="a failed batch"
    )
    emulator.inject_fault("DELETE", f"/v1/files/{file_ids[0]}", status=503)
    resource = get(job_service, meta)
    assert resource.phase == TaskExecution.RUNNING, resource.message
    assert "Job failed: part 1" in resource.message
    assert "Deleting its input files: 1 file left, trying again at the next poll." in resource.message
    assert MessageToDict(resource.custom_info)["counts"]["parts_done"] == 1
    resource = get(job_service, meta)
    assert resource.phase == TaskExecution.FAILED, resource.message
    assert resource.message.endswith("Deleted its 1 input file from the server."), resource.message
    assert server_files(openai_client) == set()


def test_a_delete_that_keeps_failing_is_said_and_does_not_hide_why_the_job_failed(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    file_ids = upload_parts(openai_client, parts=1, bad_part=0)
    meta = job_service.create(job_on(emulator), job_inputs_pb(file_ids), execution_metadata_pb("left-down"))
    emulator.inject_fault("DELETE", "/v1/files/", status=503, count=1000)
    resource, messages = poll(job_service, meta, TaskExecution.FAILED)
    assert sum("trying again at the next poll" in m for m in messages) == 5, messages
    assert "[url_mismatch]" in resource.message
    assert f"Could not delete 1 input file: deleting {file_ids[0]} failed: HTTP 503" in resource.message
    assert server_files(openai_client) == set(file_ids)
