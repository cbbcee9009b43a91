"""Code written against upstream's plugin keeps working: its module paths, the connector called directly
the way upstream's own tests call it (`await connector.create(template, inputs)`, `get`, `delete`), the
resource meta built with upstream's field names, and config's pass-through of the SDK's call options."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import openai
import pytest
from flyteidl.core.execution_pb2 import TaskExecution
from flytekit import Secret
from flytekit.extend.backend.base_agent import AgentRegistry
from flytekit.interaction.string_literals import literal_map_string_repr
from flytekit.models import literals

import flytekitplugins.openai as meta
from flytekitplugins.openai.batch.connector import BatchEndpointConnector, BatchEndpointMetadata
from flytekitplugins.openai.batch.errors import BatchAPIError
from flytekitplugins.openai.batch.task import BatchEndpointTask
from flytekitplugins.openai.batch.workflow import create_batch
from openai_batch_emulator import Emulator
from tests.support.waiting import wait_until_async

from .flyte_models import template
from .recording_proxy import RecordingProxy

pytestmark = [pytest.mark.usefixtures("connector_key"), pytest.mark.anyio]


def upstream_inputs(input_file_id: str) -> literals.LiteralMap:
    return literals.LiteralMap(
        {
            "input_file_id": literals.Literal(
                scalar=literals.Scalar(primitive=literals.Primitive(string_value=input_file_id))
            )
        },
    )


async def until_done(connector: Any, metadata: BatchEndpointMetadata, timeout: float = 30) -> Any:
    return await wait_until_async(
        lambda: connector.get(metadata),
        until=lambda resource: resource.phase != TaskExecution.RUNNING,
        timeout=timeout,
        what="the batch to end",
    )


def test_create_batch_is_where_upstream_had_it() -> None:
    assert meta.create_batch is create_batch
    workflow = create_batch(
        name="gpt-3.5-turbo", openai_organization="testorg", secret=Secret(group="test-group")
    )
    assert len(workflow.interface.inputs) == 1
    assert len(workflow.interface.outputs) == 1
    # Upstream's three steps, whatever the request attempts (a later round is added when needed).
    assert len(workflow.nodes) == 3
    once = create_batch(name="once", secret=Secret(group="test-group"), max_request_attempts=1)
    assert len(once.nodes) == 3


async def test_create_get_delete_as_upstreams_tests_call_them(
    emulator: Emulator, openai_client: openai.OpenAI, input_file_id: str
) -> None:
    emulator.configure(requests_per_second=0)  # in progress until cancelled
    connector = AgentRegistry.get_agent("openai-batch")
    task_template = template(
        BatchEndpointTask(
            name="name",
            config={"metadata": {"batch_description": "Nightly eval job"}},
            openai_organization="test-openai-organization-id",
            base_url=emulator.base_url,
        )
    )

    created = await connector.create(task_template, upstream_inputs(input_file_id))
    assert created.openai_org == "test-openai-organization-id"
    batch = openai_client.batches.retrieve(created.batch_id)
    assert batch.metadata == {"batch_description": "Nightly eval job"}

    # Upstream built the meta with its own field names.
    metadata = BatchEndpointMetadata(openai_org="test-openai-organization-id", batch_id=created.batch_id)
    assert metadata.openai_organization == "test-openai-organization-id"
    metadata.base_url = emulator.base_url  # where the batch lives (upstream knew only OpenAI)
    assert metadata == created

    running = await connector.get(metadata)
    assert running.phase == TaskExecution.RUNNING

    await connector.delete(metadata)
    assert openai_client.batches.retrieve(created.batch_id).status in ("cancelling", "cancelled")
    resource = await until_done(connector, metadata)
    assert resource.phase == TaskExecution.FAILED
    assert "cancelled" in resource.message


async def test_get_returns_the_batch_as_literals_as_upstream_did(
    emulator: Emulator, input_file_id: str
) -> None:
    connector = BatchEndpointConnector()
    task_template = template(BatchEndpointTask(name="name", config={}, base_url=emulator.base_url))
    created = await connector.create(task_template, upstream_inputs(input_file_id))
    resource = await until_done(connector, created)
    assert resource.phase == TaskExecution.SUCCEEDED
    assert isinstance(resource.outputs, literals.LiteralMap)
    result = json.loads(literal_map_string_repr(resource.outputs)["result"])
    assert result["id"] == created.batch_id
    assert result["status"] == "completed"


async def test_config_passes_the_sdks_call_options(emulator: Emulator, input_file_id: str) -> None:
    config = {
        "extra_headers": {"X-Team": "nlp"},
        "extra_query": {"api-version": "2024-10-21"},
        "timeout": 4,
    }
    with RecordingProxy(emulator.url) as proxy:
        task_template = template(BatchEndpointTask(name="name", config=config, base_url=proxy.base_url()))
        await BatchEndpointConnector().create(task_template, upstream_inputs(input_file_id))
    [create] = [r for r in proxy.requests if r["method"] == "POST"]
    assert urlsplit(create["path"]).path == "/v1/batches"
    assert parse_qs(urlsplit(create["path"]).query) == {"api-version": ["2024-10-21"]}
    assert {k.lower(): v for k, v in create["headers"].items()}["x-team"] == "nlp"


async def test_extra_body_reaches_the_request(emulator: Emulator, input_file_id: str) -> None:
    # The emulator refuses arguments batches.create does not have: proof that the field was sent.
    task_template = template(
        BatchEndpointTask(name="name", config={"extra_body": {"bogus_field": 1}}, base_url=emulator.base_url)
    )
    with pytest.raises(BatchAPIError, match=r"HTTP 400.*bogus_field"):
        await BatchEndpointConnector().create(task_template, upstream_inputs(input_file_id))
