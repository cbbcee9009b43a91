"""A freshly started connector service takes a burst of calls: none fails because of what the
connector does at start (importing the SDK, building its clients), as after a restart on a busy
cluster, where propeller's calls for every running task arrive at once."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest
from flyteidl.core.execution_pb2 import TaskExecution

from flytekitplugins.openai.batch.task import BatchEndpointTask
from openai_batch_emulator import Emulator
from openai_batch_jobs.api.batch_config import EXECUTION_METADATA_KEY

from .conftest import upload_requests
from .flyte_models import execution_metadata_pb, inputs_pb, template_pb
from .service import ConnectorService

pytestmark = pytest.mark.slow

BURST = 200


def fresh_service(workdir: Path, emulator: Emulator) -> ConnectorService:
    workdir.mkdir()
    return ConnectorService(
        workdir, {"OPENAI_BASE_URL": emulator.base_url, "FLYTE_OPENAI_API_KEY": emulator.api_key}
    ).start()


@pytest.fixture
def quiet_emulator(emulator: Emulator) -> Emulator:
    # The batches stay in progress: the burst meets no other work on the server.
    emulator.configure(requests_per_second=0)
    return emulator


def test_a_burst_of_create_then_get_calls_on_a_fresh_service_all_succeed(
    tmp_path: Path, quiet_emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    file_id = upload_requests(openai_client)
    template = template_pb(BatchEndpointTask(name="openai-batch.burst", config={}))
    service = fresh_service(tmp_path / "create", quiet_emulator)
    try:
        futures = [
            service.create_future(template, inputs_pb(file_id), execution_metadata_pb(f"burst-{i}"))
            for i in range(BURST)
        ]
        # `.result()` raises the RpcError of a failed call, with the service's message.
        metas = [bytes(f.result().resource_meta) for f in futures]
    finally:
        service.stop()
    batches = {json.loads(meta)["batch_id"] for meta in metas}
    assert len(batches) == BURST
    # One batch per execution, none more (the list pages through every batch on the server).
    owners = [(b.metadata or {}).get(EXECUTION_METADATA_KEY) for b in openai_client.batches.list(limit=100)]
    assert sorted(owners) == sorted(f"p/d/burst-{i}/n0/0" for i in range(BURST))

    # A restarted service: propeller's GetTask calls come first.
    service = fresh_service(tmp_path / "get", quiet_emulator)
    try:
        resources = [f.result().resource for f in [service.get_future(meta) for meta in metas]]
    finally:
        service.stop()
    assert {r.phase for r in resources} == {TaskExecution.RUNNING}
