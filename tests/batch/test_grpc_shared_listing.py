"""Many batches polled through one connector service are read from a shared listing: once a burst of
GetTask calls has retrieved its batches one at a time, later polls read them a page at a time, and
they answer what a retrieve answers (RUNNING, then SUCCEEDED with the finished batch as the result)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest
from flyteidl.core.execution_pb2 import TaskExecution
from flytekit.models.literals import LiteralMap

from flytekitplugins.openai.batch.task import BatchEndpointTask
from openai_batch_emulator import Emulator
from openai_batch_jobs.api.batches import RETRIEVES_PER_LISTING
from tests.support.waiting import wait_until

from .conftest import upload_requests
from .flyte_models import batch_result, execution_metadata_pb, inputs_pb, template_pb
from .recording_proxy import RecordingProxy
from .service import ConnectorService

pytestmark = pytest.mark.slow

TASKS = RETRIEVES_PER_LISTING + 10
DEADLINE_S = 180.0


def retrieves(proxy: RecordingProxy) -> int:
    """The requests for one batch (GET /v1/batches/<id>) the connector sent so far."""
    return sum(
        r["method"] == "GET" and r["path"].split("?")[0].rstrip("/").count("/") == 3 for r in proxy.requests
    )


def test_batches_polled_together_are_read_from_a_shared_listing(
    tmp_path: Path, emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    # The batches run for a while: several rounds of polls meet them running.
    emulator.configure(validating_seconds=3)
    file_id = upload_requests(openai_client)
    template = template_pb(BatchEndpointTask(name="openai-batch.shared-listing", config={}))
    with RecordingProxy(emulator.url) as proxy:
        env = {"OPENAI_BASE_URL": proxy.base_url(), "FLYTE_OPENAI_API_KEY": emulator.api_key}
        service = ConnectorService(tmp_path, env).start()
        try:
            creates = [
                service.create_future(template, inputs_pb(file_id), execution_metadata_pb(f"listing-{i}"))
                for i in range(TASKS)
            ]
            metas = [bytes(f.result().resource_meta) for f in creates]
            rounds = poll_rounds(service, proxy, metas)
        finally:
            service.stop()
    # Some round of polls read fewer batches one at a time than it polled: the rest came from a listing.
    assert min(calls for calls, _ in rounds[1:]) < TASKS, rounds
    phases = {phase for _, resources in rounds for phase in (r.phase for r in resources)}
    assert phases <= {TaskExecution.RUNNING, TaskExecution.SUCCEEDED}, phases
    for meta, resource in zip(metas, rounds[-1][1], strict=True):
        result = batch_result(LiteralMap.from_flyte_idl(resource.outputs))
        assert (result["id"], result["status"]) == (json.loads(meta)["batch_id"], "completed")


def poll_rounds(
    service: ConnectorService, proxy: RecordingProxy, metas: list[bytes]
) -> list[tuple[int, list[Any]]]:
    """GetTask for every task at once, round after round, until every task has SUCCEEDED and a round
    after the first read fewer batches one at a time than it polled; each round's retrieves and answers."""
    rounds: list[tuple[int, list[Any]]] = []

    def another_round() -> list[tuple[int, list[Any]]] | None:
        before = retrieves(proxy)
        resources = [f.result().resource for f in [service.get_future(meta) for meta in metas]]
        rounds.append((retrieves(proxy) - before, resources))
        done = all(r.phase == TaskExecution.SUCCEEDED for r in resources)
        listed = len(rounds) > 1 and min(calls for calls, _ in rounds[1:]) < len(metas)
        return rounds if done and listed else None

    return wait_until(
        another_round, what="a round of polls read from a listing, every task SUCCEEDED", timeout=DEADLINE_S
    )
