"""The agent image's own command starts a connector server that offers openai-batch and chatgpt over gRPC."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import grpc
import pytest
from flyteidl.admin.agent_pb2 import ListAgentsRequest, ListAgentsResponse
from flyteidl.service.agent_pb2_grpc import AgentMetadataServiceStub

from tests.images.conftest import Image
from tests.images.image_env import free_port

STARTUP_SECONDS = 120
# Every connector the agent image serves.
TASK_TYPES = {"openai-batch", "openai-batch-job", "chatgpt"}


def with_ports(cmd: list[str], grpc_port: int, metrics_port: int) -> list[str]:
    """The image's CMD with its fixed ports swapped for free ones (the test shares the host's network)."""
    ports = {"--port": str(grpc_port), "--prometheus_port": str(metrics_port)}
    assert set(ports) <= set(cmd), f"the agent image's CMD no longer sets both ports: {cmd}"
    return [ports.get(prev, arg) if prev else arg for prev, arg in zip(["", *cmd[:-1]], cmd, strict=True)]


def list_agents(server: subprocess.Popen[str], port: int) -> ListAgentsResponse:
    """ListAgents as flytepropeller asks it, once the server answers (or fail if it exits first)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        ready = grpc.channel_ready_future(channel)
        while True:
            try:
                ready.result(timeout=0.25)
                break
            except grpc.FutureTimeoutError:
                if server.poll() is not None:
                    pytest.fail(f"the connector server exited with {server.returncode}")
                if time.monotonic() > deadline:
                    pytest.fail(f"the connector server did not listen within {STARTUP_SECONDS} s")
        response: ListAgentsResponse = AgentMetadataServiceStub(channel).ListAgents(
            ListAgentsRequest(), timeout=10
        )
        return response


@pytest.mark.slow
def test_agent_image_serves_every_connector(agent_image: Image, tmp_path: Path) -> None:
    assert agent_image.cmd is not None, "the agent image has no command of its own"
    assert agent_image.cmd[:3] == ["pyflyte", "serve", "connector"]
    grpc_port, metrics_port = free_port(), free_port()
    command, env = agent_image.launch(with_ports(agent_image.cmd, grpc_port, metrics_port), {}, tmp_path)

    log = tmp_path / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    try:
        try:
            response = list_agents(server, grpc_port)
        except BaseException:
            print(log.read_text())
            raise
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    offered = {c.name for agent in response.agents for c in agent.supported_task_categories}
    offered |= {t for agent in response.agents for t in agent.supported_task_types}
    assert offered >= TASK_TYPES, f"agents offered: {response.agents}"
