"""The agent image's install step and command give a connector server that offers openai-batch."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import grpc
import pytest
from flyteidl.admin.agent_pb2 import ListAgentsRequest, ListAgentsResponse
from flyteidl.service.agent_pb2_grpc import AgentMetadataServiceStub

from tests.images.image_env import dockerfile_cmd, free_port, image_env, install_image

STARTUP_SECONDS = 60


def with_ports(cmd: list[str], grpc_port: int, metrics_port: int) -> list[str]:
    """The image's CMD with its fixed ports swapped for free ones (the test shares the host)."""
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
def test_agent_image_serves_the_openai_batch_connector(plugin_wheels: Path, tmp_path: Path) -> None:
    bin_dir = install_image("agent", tmp_path / "venv", plugin_wheels)
    grpc_port, metrics_port = free_port(), free_port()
    cmd = with_ports(dockerfile_cmd("agent"), grpc_port, metrics_port)
    assert cmd[0] == "pyflyte"
    assert (bin_dir / "pyflyte").exists()

    log = tmp_path / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            cmd,
            cwd=tmp_path,
            env=image_env(tmp_path / "venv", tmp_path),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
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
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    offered = {c.name for agent in response.agents for c in agent.supported_task_categories}
    offered |= {t for agent in response.agents for t in agent.supported_task_types}
    assert "openai-batch" in offered, f"agents offered: {response.agents}"
