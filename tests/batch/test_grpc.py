"""The connector behind the real gRPC service, driven with flyteidl's stubs as FlytePropeller drives it."""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import openai
import pytest
from flyteidl.core.execution_pb2 import TaskExecution
from flytekit.models.literals import LiteralMap
from google.protobuf.json_format import MessageToDict

from flytekitplugins.openai.batch.task import BatchEndpointTask
from openai_batch_emulator import Emulator
from openai_batch_jobs.api.batch_config import EXECUTION_METADATA_KEY
from tests.support.waiting import wait_until

from .conftest import upload_requests
from .flyte_models import batch_result, execution_metadata_pb, inputs_pb, template_pb
from .service import ConnectorService

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with Emulator(data_dir=tmp_path_factory.mktemp("shared-emulator")) as emu:
        yield emu


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, shared_emulator: Emulator
) -> Iterator[ConnectorService]:
    """A service whose OPENAI_BASE_URL is the shared emulator; tests with their own emulator name it in
    the task's base_url (loopback servers are trusted by the connector)."""
    running = ConnectorService(
        tmp_path_factory.mktemp("service"),
        {"OPENAI_BASE_URL": shared_emulator.base_url, "FLYTE_OPENAI_API_KEY": shared_emulator.api_key},
    ).start()
    yield running
    running.stop()


def task_on(emulator: Emulator | None, **kwargs: Any) -> Any:
    base_url = emulator.base_url if emulator is not None else None
    return template_pb(BatchEndpointTask(name="openai-batch.grpc", config={}, base_url=base_url, **kwargs))


def poll(service: ConnectorService, meta: bytes, phase: int, timeout: float = 120) -> Any:
    def reached(resource: Any) -> bool:
        assert resource.phase in (phase, TaskExecution.RUNNING), resource.message
        return bool(resource.phase == phase)

    return wait_until(lambda: service.get(meta), until=reached, timeout=timeout, what=f"phase {phase}")


def result_of(resource: Any) -> dict[str, Any]:
    return batch_result(LiteralMap.from_flyte_idl(resource.outputs))


def test_batch_runs_to_succeeded_with_the_batch_as_output(
    service: ConnectorService, shared_emulator: Emulator
) -> None:
    client = shared_emulator.client()
    file_id = upload_requests(client, count=4)
    meta = service.create(task_on(None), inputs_pb(file_id), execution_metadata_pb("exec-ok"))
    # JSON the operator can read; a task that names no server polls the connector's own
    # (OPENAI_BASE_URL), as upstream's did.
    decoded = json.loads(meta)
    assert decoded["base_url"] is None

    resource = poll(service, meta, TaskExecution.SUCCEEDED)
    batch = client.batches.retrieve(decoded["batch_id"])
    result = result_of(resource)
    assert result["id"] == batch.id
    assert result["status"] == "completed" == batch.status
    assert result["output_file_id"] == batch.output_file_id
    assert result["metadata"] == {EXECUTION_METADATA_KEY: "p/d/exec-ok/n0/0"}
    info = MessageToDict(resource.custom_info)
    assert info["request_counts"] == {"total": 4, "completed": 4, "failed": 0}
    assert "4 of 4 requests completed" in info["message"]


def test_create_twice_makes_one_batch(
    service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    file_id = upload_requests(openai_client)
    template = task_on(emulator)
    first = service.create(template, inputs_pb(file_id), execution_metadata_pb("exec-twice"))
    # Propeller lost the reply and calls again.
    second = service.create(template, inputs_pb(file_id), execution_metadata_pb("exec-twice"))
    assert json.loads(first)["batch_id"] == json.loads(second)["batch_id"]
    assert [b.id for b in openai_client.batches.list().data] == [json.loads(first)["batch_id"]]


def test_delete_cancels_a_running_batch(
    service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    emulator.configure(requests_per_second=0)
    file_id = upload_requests(openai_client)
    meta = service.create(task_on(emulator), inputs_pb(file_id), execution_metadata_pb("exec-abort"))
    assert service.get(meta).phase == TaskExecution.RUNNING
    service.delete(meta)
    batch_id = json.loads(meta)["batch_id"]
    assert openai_client.batches.retrieve(batch_id).status in ("cancelling", "cancelled")
    service.delete(meta)  # propeller may abort twice
    resource = poll(service, meta, TaskExecution.FAILED)
    assert "cancelled" in resource.message


def test_get_under_injected_503s_answers_running(
    service: ConnectorService, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    file_id = upload_requests(openai_client)
    meta = service.create(task_on(emulator), inputs_pb(file_id), execution_metadata_pb("exec-503"))
    batch_id = json.loads(meta)["batch_id"]
    emulator.inject_fault("GET", f"/v1/batches/{batch_id}", status=503, count=3)
    for _ in range(3):
        resource = service.get(meta)
        assert resource.phase == TaskExecution.RUNNING
        assert "HTTP 503" in resource.message
    poll(service, meta, TaskExecution.SUCCEEDED)


def test_a_restarted_service_carries_on(
    tmp_path: Path, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    service = ConnectorService(tmp_path, {"FLYTE_OPENAI_API_KEY": emulator.api_key}).start()
    try:
        emulator.configure(requests_per_second=4)
        file_id = upload_requests(openai_client, count=8)
        meta = service.create(task_on(emulator), inputs_pb(file_id), execution_metadata_pb("exec-restart"))
        assert service.get(meta).phase == TaskExecution.RUNNING
        service.stop(kill=True)
        service.start()
        resource = poll(service, meta, TaskExecution.SUCCEEDED)
        assert result_of(resource)["request_counts"]["completed"] == 8
        assert service.starts == 2
    finally:
        service.stop()


def test_an_emulator_restart_reads_as_running_then_carries_on(
    service: ConnectorService, tmp_path: Path
) -> None:
    data_dir = tmp_path / "emulator"
    with Emulator(data_dir=data_dir, requests_per_second=4) as first:
        port = first.port
        file_id = upload_requests(first.client(), count=8)
        meta = service.create(task_on(first), inputs_pb(file_id), execution_metadata_pb("exec-emu-restart"))
        assert service.get(meta).phase == TaskExecution.RUNNING
    # The server is gone: GetTask still answers.
    resource = service.get(meta)
    assert resource.phase == TaskExecution.RUNNING
    assert f"Reading batch {json.loads(meta)['batch_id']} failed: connection error" in resource.message
    assert port is not None
    with Emulator(data_dir=data_dir, port=port):
        resource = poll(service, meta, TaskExecution.SUCCEEDED)
    assert result_of(resource)["request_counts"]["completed"] == 8


def test_pickled_resource_meta_is_refused_not_unpickled(service: ConnectorService, tmp_path: Path) -> None:
    tripwire = tmp_path / "unpickled"
    data = pickle.dumps(_Tripwire(str(tripwire)), protocol=4)
    with pytest.raises(grpc.RpcError) as info:
        service.get(data)
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert "is a pickle" in info.value.details()
    assert not tripwire.exists()


class _Tripwire:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.mkdir, (self.path,))


def test_missing_secret_is_named_in_the_grpc_error(
    tmp_path: Path, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    service = ConnectorService(tmp_path, {"FLYTE_SECRETS_DEFAULT_DIR": str(tmp_path / "secrets")}).start()
    try:
        file_id = upload_requests(openai_client)
        with pytest.raises(grpc.RpcError) as info:
            service.create(task_on(emulator), inputs_pb(file_id), execution_metadata_pb("exec-nokey"))
        details = info.value.details()
        assert "FLYTE_OPENAI_API_KEY is not set" in details
        assert str(tmp_path / "secrets" / "flyte_openai_api_key") in details
    finally:
        service.stop()
    assert openai_client.batches.list().data == []


def test_a_key_from_a_secret_file_is_used_and_never_shown(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    wrong = "sk-proj-fake-notthekey9876543210fedcba"
    (secrets / "flyte_openai_api_key").write_text(wrong + "\n")
    with Emulator(data_dir=tmp_path_factory.mktemp("emu"), api_key="sk-emulator-only-key") as emu:
        file_id = upload_requests(emu.client())
        service = ConnectorService(tmp_path, {"FLYTE_SECRETS_DEFAULT_DIR": str(secrets)}).start()
        try:
            with pytest.raises(grpc.RpcError) as info:
                service.create(task_on(emu), inputs_pb(file_id), execution_metadata_pb("exec-badkey"))
            # The file was read (the server saw a key and refused it) ...
            assert "HTTP 401" in info.value.details()
        finally:
            service.stop()
    # ... and the key appears neither in the gRPC error nor in the service's log.
    assert "notthekey98" not in info.value.details()
    assert "notthekey98" not in service.log()
