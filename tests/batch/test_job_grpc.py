"""The job connector behind the real gRPC job_service, driven with flyteidl's stubs as FlytePropeller drives it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import grpc
import openai
import pytest
from flyteidl.core.execution_pb2 import TaskExecution
from flytekit.models.literals import LiteralMap
from google.protobuf.json_format import MessageToDict

from flytekitplugins.openai.batch import BatchJobTask
from openai_batch_emulator import Emulator
from openai_batch_jobs.job.state import PART_METADATA_KEY
from tests.support.waiting import wait_until

from .flyte_models import batch_result, execution_metadata_pb, job_inputs_pb, template_pb
from .job_support import (
    WAIT_S,
    failed_on_a_bad_part,
    get,
    job_batches,
    job_on,
    job_until,
    out_of_room,
    part_bound,
    part_tokens,
    poll,
    request_lines,
    upload_parts,
)
from .service import JOB_TASK_TYPE, ConnectorService

pytestmark = pytest.mark.slow


def result_of(resource: Any) -> dict[str, Any]:
    return batch_result(LiteralMap.from_flyte_idl(resource.outputs))


def test_parts_run_at_once_bounded_by_max_in_flight_and_a_repeated_create_makes_no_second_batch(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    emulator.configure(requests_per_second=2)
    file_ids = upload_parts(openai_client, parts=3, count=3)
    template = job_on(emulator, max_in_flight=2)
    first = job_service.create(template, job_inputs_pb(file_ids), execution_metadata_pb("job-twice"))
    # Propeller lost the reply and calls again: the same batches, no new ones.
    second = job_service.create(template, job_inputs_pb(file_ids), execution_metadata_pb("job-twice"))
    key = json.loads(first)["key"]
    assert key == json.loads(second)["key"] == "p/d/job-twice/n0/0"
    started = job_batches(openai_client, key)
    assert sorted(b.metadata[PART_METADATA_KEY] for b in started) == ["0", "1"]
    assert {b.input_file_id for b in started} == set(file_ids[:2])

    resource, messages = poll(job_service, first, TaskExecution.SUCCEEDED)
    assert any("0 of 3 parts done, 2 running, 1 queued" in m for m in messages), messages
    batches = job_batches(openai_client, key)
    # One batch per part, never more than two at once, and two did run at the same time.
    assert sorted(b.metadata[PART_METADATA_KEY] for b in batches) == ["0", "1", "2"]
    by_part = {b.metadata[PART_METADATA_KEY]: b for b in batches}
    assert by_part["1"].created_at <= by_part["0"].completed_at
    assert by_part["2"].created_at >= min(by_part["0"].completed_at, by_part["1"].completed_at)
    result = result_of(resource)
    assert [b["input_file_id"] for b in result["batches"]] == file_ids
    assert [b["status"] for b in result["batches"]] == ["completed"] * 3
    assert result["parts_done"] == 3
    assert result["failed_parts"] == []
    assert result["request_counts"] == {"total": 9, "completed": 9, "failed": 0}
    info = MessageToDict(resource.custom_info)
    assert info["parts"]["total"] == 3
    assert info["parts"]["done"] == 3
    assert info["request_counts"] == {"total": 9, "completed": 9, "failed": 0}
    assert "3 of 3 parts done; 9 of 9 requests completed, 0 failed" in resource.message


def test_delete_cancels_every_running_batch_of_the_job(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    emulator.configure(requests_per_second=0)  # batches stay in progress until cancelled
    file_ids = upload_parts(openai_client, parts=3)
    meta = job_service.create(job_on(emulator), job_inputs_pb(file_ids), execution_metadata_pb("job-abort"))
    key = json.loads(meta)["key"]
    poll(job_service, meta, TaskExecution.RUNNING, until=lambda r: "3 running" in r.message)
    job_service.delete(meta, task_type=JOB_TASK_TYPE)
    assert {b.status for b in job_batches(openai_client, key)} <= {"cancelling", "cancelled"}
    job_service.delete(meta, task_type=JOB_TASK_TYPE)  # propeller may abort twice
    resource, _ = poll(job_service, meta, TaskExecution.FAILED)
    assert "cancelled" in resource.message
    assert len(job_batches(openai_client, key)) == 3


def test_a_part_failing_for_bad_input_fails_the_job_naming_it_and_stops_the_others(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    _, meta, resource = failed_on_a_bad_part(job_service, emulator, openai_client, "job-bad")
    assert "accept_partial_results=True" in resource.message
    # Nothing is left running on the server once the job has failed.
    ended = {"failed", "cancelled", "completed"}
    statuses = lambda: {b.status for b in job_batches(openai_client, json.loads(meta)["key"])}  # noqa: E731
    wait_until(lambda: statuses() <= ended, timeout=WAIT_S, what="every batch ended")


def test_with_accept_partial_results_a_bad_part_is_reported_and_the_others_kept(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    file_ids = upload_parts(openai_client, parts=3, bad_part=1)
    _, _, resource = job_until(
        TaskExecution.SUCCEEDED, job_service, emulator, "job-partial", file_ids, accept_partial_results=True
    )
    result = result_of(resource)
    assert [b["status"] for b in result["batches"]] == ["completed", "failed", "completed"]
    assert result["failed_parts"] == [1]
    assert result["parts_done"] == 2
    assert result["batches"][0]["output_file_id"]
    assert result["batches"][2]["output_file_id"]
    assert f"part 2 ({file_ids[1]}) failed" in resource.message


def test_a_part_refused_for_the_token_limit_waits_and_is_submitted_again(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    # Room in the model's queue for one part at a time: the second part's first batch fails.
    emulator.configure(requests_per_second=3, enqueued_token_limits={"gpt-4o-mini": part_tokens(3) * 3 // 2})
    file_ids = upload_parts(openai_client, parts=2, count=3)
    template = job_on(emulator, token_limit_wait_s=1.0, token_limit_attempts=100)
    meta = job_service.create(template, job_inputs_pb(file_ids), execution_metadata_pb("job-tokens"))
    resource, messages = poll(job_service, meta, TaskExecution.SUCCEEDED)
    waits = [m for m in messages if "token_limit_exceeded" in m]
    assert waits, messages
    assert "submitting again" in waits[0], waits[0]
    assert "of 100, 1 s apart" in waits[0], waits[0]
    batches = job_batches(openai_client, json.loads(meta)["key"])
    refused = [b for b in batches if b.status == "failed"]
    assert refused
    assert all(b.errors.data[0].code == "token_limit_exceeded" for b in refused)
    result = result_of(resource)
    assert [b["status"] for b in result["batches"]] == ["completed", "completed"]
    assert result["request_counts"]["completed"] == 6


def test_the_token_limit_wait_is_bounded(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    _, meta, resource = out_of_room(
        job_service, emulator, openai_client, parts=1, attempts=2, name="job-no-room"
    )
    assert "no room in 2 attempts" in resource.message
    assert len(job_batches(openai_client, json.loads(meta)["key"])) == 2


def test_a_restarted_service_carries_on_with_the_job(
    tmp_path: Path, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    service = ConnectorService(tmp_path, {"FLYTE_OPENAI_API_KEY": emulator.api_key}).start()
    try:
        emulator.configure(requests_per_second=3)
        file_ids = upload_parts(openai_client, parts=3, count=4)
        template = job_on(emulator, max_in_flight=1)
        meta = service.create(template, job_inputs_pb(file_ids), execution_metadata_pb("job-restart"))
        assert get(service, meta).phase == TaskExecution.RUNNING
        service.stop(kill=True)
        service.start()
        resource, _ = poll(service, meta, TaskExecution.SUCCEEDED)
        assert result_of(resource)["request_counts"] == {"total": 12, "completed": 12, "failed": 0}
        batches = job_batches(openai_client, json.loads(meta)["key"])
        assert sorted(b.metadata[PART_METADATA_KEY] for b in batches) == ["0", "1", "2"]
        assert service.starts == 2
    finally:
        service.stop()


def test_get_under_injected_503s_answers_running_then_carries_on(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    file_ids = upload_parts(openai_client, parts=2)
    meta = job_service.create(job_on(emulator), job_inputs_pb(file_ids), execution_metadata_pb("job-503"))
    emulator.inject_fault("GET", "/v1/batches", status=503, count=2)
    for _ in range(2):
        resource = get(job_service, meta)
        assert resource.phase == TaskExecution.RUNNING
        assert resource.message.startswith("Job running, server answering HTTP 503 for "), resource.message
        assert (
            ", retrying: Reading the batches of job p/d/job-503/n0/0 failed: HTTP 503: " in resource.message
        )
    resource, _ = poll(job_service, meta, TaskExecution.SUCCEEDED)
    assert result_of(resource)["parts_done"] == 2


def test_a_retry_round_with_nothing_to_send_succeeds_at_once(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    # Nothing listens on port 9 (discard): a call to the API would fail the job, not succeed.
    nowhere = template_pb(
        BatchJobTask(name="openai-batch-job.grpc", config={}, base_url="http://127.0.0.1:9/v1")
    )
    meta = job_service.create(nowhere, job_inputs_pb([]), execution_metadata_pb("job-empty-round"))
    resource = get(job_service, meta)  # the first GetTask already ends it
    assert resource.phase == TaskExecution.SUCCEEDED, resource.message
    assert result_of(resource)["batches"] == []
    assert openai_client.batches.list().data == []


def test_expired_parts_are_done_with_partial_results_when_a_later_round_sends_them_again(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    # 10 requests a second for 2 s (0.2 s of it validating): each part of 30 expires with about 18 answered.
    emulator.configure(requests_per_second=10, completion_window_seconds=2)
    file_ids = upload_parts(openai_client, parts=2, count=30)
    resent = job_service.create(
        job_on(emulator, resend_unanswered=True), job_inputs_pb(file_ids), execution_metadata_pb("job-resent")
    )
    strict = job_service.create(
        job_on(emulator), job_inputs_pb(file_ids), execution_metadata_pb("job-strict")
    )
    resource, _ = poll(job_service, resent, TaskExecution.SUCCEEDED)
    result = result_of(resource)
    assert [b["status"] for b in result["batches"]] == ["expired", "expired"]
    assert result["parts_done"] == 2
    assert result["failed_parts"] == []
    assert all(b["error_file_id"] for b in result["batches"])  # the unanswered requests, batch_expired
    assert 0 < result["request_counts"]["completed"] < 60
    assert "Done with partial results: part 1" in resource.message
    assert "the collect step sends them again in the next round" in resource.message
    # The same parts without a later round: the job fails, as upstream's did.
    failed, _ = poll(job_service, strict, TaskExecution.FAILED)
    assert "expired" in failed.message
    assert "accept_partial_results=True" in failed.message


def test_a_token_budget_holds_parts_for_room_and_no_batch_meets_the_token_limit(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    file_ids = upload_parts(openai_client, parts=6, count=4, tagged=True)
    bound = part_bound(request_lines(0, 4))
    # Room for two parts by the job's own count; the emulator's limit is the same figure, in its count
    # (never above ours): with the budget at or below the server's limit, no batch is refused.
    budget = 2 * bound
    emulator.configure(requests_per_second=8, enqueued_token_limits={"gpt-4o-mini": budget})
    template = job_on(emulator, max_enqueued_tokens={"gpt-4o-mini": budget})
    meta = job_service.create(template, job_inputs_pb(file_ids), execution_metadata_pb("job-budget"))
    held: dict[int, float] = {}  # part -> when it was first seen held
    messages: list[str] = []

    def step() -> Any:
        resource = get(job_service, meta)
        messages.append(resource.message)
        for part in MessageToDict(resource.custom_info).get("held_parts", []):
            held.setdefault(int(part), time.time())
        if resource.phase == TaskExecution.SUCCEEDED:
            return resource
        assert resource.phase == TaskExecution.RUNNING, resource.message
        return None

    resource = wait_until(step, timeout=WAIT_S, what="the job to succeed")
    assert any("waiting for room in max_enqueued_tokens: needs" in m for m in messages), messages
    assert any(f"of {budget:,} in flight" in m for m in messages), messages
    batches = job_batches(openai_client, json.loads(meta)["key"])
    print_timeline(batches, held, budget)
    assert [b.status for b in batches] == ["completed"] * 6  # not one token_limit_exceeded
    assert sorted(b.metadata[PART_METADATA_KEY] for b in batches) == [str(i) for i in range(6)]
    assert len(held) >= 2
    for batch in batches:
        running = [b for b in batches if b.created_at <= batch.created_at < (b.completed_at or 0)]
        assert len(running) <= 2, batch.id
    assert result_of(resource)["request_counts"] == {"total": 24, "completed": 24, "failed": 0}


def print_timeline(batches: list[Any], held: dict[int, float], budget: int) -> None:
    start = min(b.created_at for b in batches)
    print(f"\nper-part timeline (seconds from the first batch; budget {budget:,} tokens):")
    for batch in batches:
        part = int(batch.metadata[PART_METADATA_KEY])
        note = f"held (first seen +{held[part] - start:.1f}s), " if part in held else ""
        print(
            f"  part {part}: {note}batch created +{batch.created_at - start}s, "
            f"completed +{(batch.completed_at or start) - start}s, {batch.status}"
        )


def test_while_the_server_is_down_the_job_says_so_and_carries_on_once_it_is_back(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    emulator.configure(requests_per_second=0)  # the batches wait in progress through the outage
    file_ids = upload_parts(openai_client, parts=2)
    meta = job_service.create(job_on(emulator), job_inputs_pb(file_ids), execution_metadata_pb("job-outage"))
    poll(job_service, meta, TaskExecution.RUNNING, until=lambda r: "2 running" in r.message)
    port = emulator.port
    emulator.stop()
    down = get(job_service, meta)
    assert down.phase == TaskExecution.RUNNING, down.message
    assert down.message.startswith("Job running, server unreachable for "), down.message
    assert ", retrying: " in down.message, down.message
    assert MessageToDict(down.custom_info)["outage"].startswith("server unreachable for "), down.custom_info
    print(f"\njob connector's message during the outage: {down.message}")
    with Emulator(data_dir=emulator.data_dir, port=port) as back:
        back_client = back.client()
        for batch in back_client.batches.list().data:  # ends the job (cancelled): the outage is over
            back_client.batches.cancel(batch.id)
        resource, _ = poll(job_service, meta, TaskExecution.FAILED)
    assert "outage" not in MessageToDict(resource.custom_info), resource.custom_info


# Three parts of three chat requests with no max_tokens (4,096 output tokens assumed each), gpt-4o-mini:
# 54 prompt tokens at $0.075 and 36,864 output tokens at $0.30 a million.
CAPPED_FIGURES = "$0.000004 to $0.0111 (gpt-4o-mini)"


def test_a_job_over_max_cost_usd_is_refused_at_create_before_any_batch(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    file_ids = upload_parts(openai_client, parts=3, count=3, tagged=True)
    template = job_on(emulator, max_cost_usd=0.01)
    with pytest.raises(grpc.RpcError) as refused:
        job_service.create(template, job_inputs_pb(file_ids), execution_metadata_pb("job-capped"))
    details = refused.value.details()
    print(details)
    assert (
        f"The job task refused the job before creating any batch: its cost estimate is {CAPPED_FIGURES}, "
        "and the high figure is above max_cost_usd $0.0100. No batch was created: nothing was billed."
    ) in details
    assert openai_client.batches.list().data == []  # nothing billed
    # The same files under a cap they fit in: the job runs.
    meta = job_service.create(
        job_on(emulator, max_cost_usd=0.02), job_inputs_pb(file_ids), execution_metadata_pb("job-fits")
    )
    resource, _ = poll(job_service, meta, TaskExecution.SUCCEEDED)
    assert result_of(resource)["request_counts"] == {"total": 9, "completed": 9, "failed": 0}


def test_a_capped_job_of_files_without_an_estimate_is_refused_rather_than_guessed(
    job_service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    file_ids = upload_parts(openai_client, parts=2)  # named as another tool would: no estimate
    with pytest.raises(grpc.RpcError) as refused:
        job_service.create(
            job_on(emulator, max_cost_usd=100), job_inputs_pb(file_ids), execution_metadata_pb("job-untagged")
        )
    details = refused.value.details()
    assert (
        f"has max_cost_usd, but its input file {file_ids[0]} ('part0.jsonl') does not say its token"
        in details
    )
    assert "No batch was created." in details
    assert openai_client.batches.list().data == []
