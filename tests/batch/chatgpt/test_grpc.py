"""The ChatGPT connector behind the real `pyflyte serve connector` (or `agent`) service, driven through
ExecuteTaskSync with flyteidl's stubs as FlytePropeller drives it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from flyteidl.admin import agent_pb2
from flyteidl.core.execution_pb2 import TaskExecution
from flyteidl.service import agent_pb2_grpc
from flytekit import FlyteContextManager
from flytekit.core.type_engine import TypeEngine
from flytekit.models.literals import LiteralMap

from flytekitplugins.openai.chatgpt.task import ChatGPTTask
from openai_batch_emulator import Emulator
from tests.batch.service import ConnectorService

from .models import message_pb, template_pb

pytestmark = pytest.mark.slow

# Propeller gives ExecuteTaskSync 10 s unless configured otherwise; the connector keeps within that
# itself (FLYTE_OPENAI_CHATGPT_TIMEOUT). The tests wait longer: a loaded machine is not a failure.
CALL_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def shared_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with Emulator(data_dir=tmp_path_factory.mktemp("shared-emulator")) as emu:
        yield emu


def start(tmp_path: Path, emulator: Emulator, **env: str | None) -> ConnectorService:
    settings: dict[str, str | None] = {
        "OPENAI_BASE_URL": emulator.base_url,
        "FLYTE_OPENAI_API_KEY": emulator.api_key,
    }
    return ConnectorService(tmp_path, {**settings, **env}).start()


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, shared_emulator: Emulator
) -> Iterator[ConnectorService]:
    running = start(tmp_path_factory.mktemp("service"), shared_emulator)
    yield running
    running.stop()


def execute_sync(service: ConnectorService, task: ChatGPTTask, text: str) -> Any:
    """ExecuteTaskSync as propeller calls it: a header with the template, then the inputs."""
    assert service.channel is not None
    requests = iter(
        [
            agent_pb2.ExecuteTaskSyncRequest(
                header=agent_pb2.CreateRequestHeader(
                    template=template_pb(task), output_prefix="s3://bucket/metadata/outputs"
                )
            ),
            agent_pb2.ExecuteTaskSyncRequest(inputs=message_pb(text)),
        ]
    )
    stub = agent_pb2_grpc.SyncAgentServiceStub(service.channel)
    [response] = list(stub.ExecuteTaskSync(requests, timeout=CALL_TIMEOUT_S))
    return response.header.resource


def answer_of(resource: Any) -> str:
    ctx = FlyteContextManager.current_context()
    outputs = LiteralMap.from_flyte_idl(resource.outputs)
    answer: str = TypeEngine.literal_map_to_kwargs(ctx, outputs, {"o0": str})["o0"]
    return answer


def chatgpt(**config: Any) -> ChatGPTTask:
    return ChatGPTTask(name="chatgpt.grpc", chatgpt_config={"model": "gpt-4o-mini", **config})


def test_the_service_lists_the_chatgpt_connector(service: ConnectorService) -> None:
    assert service.channel is not None
    agents = agent_pb2_grpc.AgentMetadataServiceStub(service.channel).ListAgents(
        agent_pb2.ListAgentsRequest()
    )
    sync = [a for a in agents.agents if "chatgpt" in a.supported_task_types]
    assert len(sync) == 1
    assert sync[0].is_sync


def test_execute_task_sync_answers_with_the_output(service: ConnectorService) -> None:
    resource = execute_sync(service, chatgpt(temperature=0.2, max_tokens=50), "What is Flyte?")
    assert resource.phase == TaskExecution.SUCCEEDED, resource.message
    assert answer_of(resource) == "Echo: What is Flyte?"


def test_faults_are_retried_inside_the_call(service: ConnectorService, shared_emulator: Emulator) -> None:
    shared_emulator.inject_fault("POST", "/chat/completions", status=502, count=2)
    resource = execute_sync(service, chatgpt(), "after two faults")
    assert resource.phase == TaskExecution.SUCCEEDED, resource.message
    assert answer_of(resource) == "Echo: after two faults"


def test_an_unknown_model_fails_the_task(service: ConnectorService) -> None:
    resource = execute_sync(service, chatgpt(model="no-such-model"), "hi")
    assert resource.phase == TaskExecution.FAILED
    assert "HTTP 404" in resource.message


def test_a_wrong_key_fails_the_task_without_showing_it(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    secret = "sk-proj-fake-wrongkey0123456789abcdef"
    with Emulator(data_dir=tmp_path_factory.mktemp("emu"), api_key="sk-the-right-one") as emu:
        running = start(tmp_path, emu, FLYTE_OPENAI_API_KEY=secret)
        try:
            resource = execute_sync(running, chatgpt(), "hi")
        finally:
            running.stop()
    assert resource.phase == TaskExecution.FAILED
    assert "HTTP 401" in resource.message
    assert "wrongkey0123" not in resource.message
    assert "wrongkey0123" not in running.log()


def test_a_missing_secret_is_named_in_the_grpc_error(tmp_path: Path, shared_emulator: Emulator) -> None:
    running = start(tmp_path, shared_emulator, FLYTE_OPENAI_API_KEY=None)
    try:
        with pytest.raises(grpc.RpcError) as info:
            execute_sync(running, chatgpt(), "hi")
    finally:
        running.stop()
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert "FLYTE_OPENAI_API_KEY" in str(info.value.details())
