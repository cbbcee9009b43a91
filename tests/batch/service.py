"""The real connector gRPC service (`pyflyte serve connector`, or `serve agent` on flytekit 1.15) in a
subprocess, and a client that talks to it the way FlytePropeller does."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import grpc
from flyteidl.admin import agent_pb2
from flyteidl.service import agent_pb2_grpc

from tests.support.waiting import wait_until, while_running

TASK_TYPE = "openai-batch"
JOB_TASK_TYPE = "openai-batch-job"
STARTUP_TIMEOUT_S = 60.0
# Propeller's call deadlines are the connector's to keep (core.retry); the tests' own only catch a
# hung service, and must not fail a call that a loaded machine makes slow.
CALL_TIMEOUT_S = 60.0


def serve_command() -> str:
    """flytekit 1.16 has `serve connector` (and keeps `serve agent` as deprecated); 1.15 has only `agent`."""
    has_connector = importlib.util.find_spec("flytekit.extend.backend.connector_service") is not None
    return "connector" if has_connector else "agent"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ConnectorService:
    """One `pyflyte serve` process; `env` replaces the connector-related variables of this process's env."""

    def __init__(self, workdir: Path, env: dict[str, str | None]) -> None:
        self.workdir = workdir
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.channel: grpc.Channel | None = None
        self.log_path = workdir / "service.log"
        self._log: IO[bytes] | None = None
        self.starts = 0

    def start(self) -> ConnectorService:
        env = {k: v for k, v in os.environ.items() if "OPENAI" not in k}
        env.update({k: v for k, v in self.env.items() if v is not None})
        env["FLYTE_SDK_LOGGING_LEVEL"] = "20"
        port = free_port()
        pyflyte = str(Path(sys.executable).parent / "pyflyte")
        command = [
            pyflyte,
            "serve",
            serve_command(),
            "--port",
            str(port),
            "--prometheus_port",
            str(free_port()),
        ]
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command, cwd=self.workdir, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.starts += 1
        # Short reconnect backoff: the first connection attempts fail while the service starts.
        options = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.max_reconnect_backoff_ms", 500)]
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=options)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        assert self.process is not None
        assert self.channel is not None
        metadata = agent_pb2_grpc.AgentMetadataServiceStub(self.channel)

        def listed() -> Any:
            try:
                return metadata.ListAgents(
                    agent_pb2.ListAgentsRequest(), timeout=1, wait_for_ready=True
                ).agents
            except grpc.RpcError:
                return None

        agents = wait_until(
            while_running(self.process, listed, self.log),
            until=lambda agents: agents is not None,
            timeout=STARTUP_TIMEOUT_S,
            what="the connector service to answer",
        )
        # The plugin must have registered itself through its flytekit.plugins entry point.
        assert any(TASK_TYPE in a.supported_task_types for a in agents), agents
        assert any(JOB_TASK_TYPE in a.supported_task_types for a in agents), agents

    def stop(self, kill: bool = False) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def stub(self) -> agent_pb2_grpc.AsyncAgentServiceStub:
        assert self.channel is not None, "the service is not running"
        return agent_pb2_grpc.AsyncAgentServiceStub(self.channel)

    # -- the calls propeller makes ------------------------------------------------------------------

    def create(self, template: Any, inputs: Any, metadata: Any, timeout: float = CALL_TIMEOUT_S) -> bytes:
        return bytes(self.create_future(template, inputs, metadata, timeout).result().resource_meta)

    def create_future(
        self, template: Any, inputs: Any, metadata: Any, timeout: float = CALL_TIMEOUT_S
    ) -> grpc.Future:
        """CreateTask without waiting for its answer (`.result()` is the response, or raises its error)."""
        request = agent_pb2.CreateTaskRequest(
            inputs=inputs,
            template=template,
            output_prefix="s3://bucket/metadata/outputs",
            task_execution_metadata=metadata,
        )
        return self.stub.CreateTask.future(request, timeout=timeout)

    def get(self, resource_meta: bytes, timeout: float = CALL_TIMEOUT_S, task_type: str = TASK_TYPE) -> Any:
        return self.get_future(resource_meta, timeout, task_type).result().resource

    def get_future(
        self, resource_meta: bytes, timeout: float = CALL_TIMEOUT_S, task_type: str = TASK_TYPE
    ) -> grpc.Future:
        """GetTask without waiting for its answer (`.result().resource`, or raises its error)."""
        request = agent_pb2.GetTaskRequest(
            task_type=task_type,
            task_category=agent_pb2.TaskCategory(name=task_type, version=0),
            resource_meta=resource_meta,
        )
        return self.stub.GetTask.future(request, timeout=timeout)

    def delete(
        self, resource_meta: bytes, timeout: float = CALL_TIMEOUT_S, task_type: str = TASK_TYPE
    ) -> None:
        request = agent_pb2.DeleteTaskRequest(
            task_type=task_type,
            task_category=agent_pb2.TaskCategory(name=task_type, version=0),
            resource_meta=resource_meta,
        )
        self.stub.DeleteTask(request, timeout=timeout)
