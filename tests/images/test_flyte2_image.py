"""The Flyte 2 connector image's own command is flyte's connector server (`c0`) with this project's two
connectors registered, and the job connector answers a GetTask over gRPC."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flyteidl2.connector import connector_pb2, service_pb2_grpc
from flyteidl2.core.execution_pb2 import TaskExecution

from tests.images.conftest import Image
from tests.images.connector_server import serving

TASK_TYPES = {"openai_batch", "openai_batch_job"}


@pytest.mark.slow
def test_flyte2_image_serves_its_connectors(flyte2_image: Image, tmp_path: Path) -> None:
    assert flyte2_image.cmd is not None
    assert flyte2_image.cmd[0] == "c0"
    # A round with no parts (nothing left to send again): the job connector answers without a server.
    meta = json.dumps({"key": "run/r2", "input_file_ids": [], "created_at": 0.0, "settings": {}}).encode()
    with serving(flyte2_image, tmp_path) as channel:
        listed = service_pb2_grpc.ConnectorMetadataServiceStub(channel).ListConnectors(
            connector_pb2.ListConnectorsRequest(), timeout=10
        )
        answer = service_pb2_grpc.AsyncConnectorServiceStub(channel).GetTask(
            connector_pb2.GetTaskRequest(
                resource_meta=meta,
                task_category=connector_pb2.TaskCategory(name="openai_batch_job", version=0),
            ),
            timeout=30,
        )

    offered = {c.name for connector in listed.connectors for c in connector.supported_task_categories}
    assert offered >= TASK_TYPES, f"connectors offered: {listed.connectors}"
    assert answer.resource.phase == TaskExecution.SUCCEEDED, answer.resource.message
    assert "no input files" in answer.resource.message
