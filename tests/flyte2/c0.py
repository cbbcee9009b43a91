"""flyte's own connector server (`c0`) in a subprocess, and a client that calls it as the Flyte 2
backend does: CreateTask with the serialized template and inputs, GetTask and DeleteTask with the
resource meta it returned, and a failed CreateTask or GetTask made again.

The backend's web API plugin returns a failed Create as an error (flyteplugins' `webapi.launch`:
`return nil, core.PhaseInfo{}, err`), so the same task attempt is handled again in the next round and
CreateTask is called again with the same request; a failed Get is asked again at the next refresh. A
create slowed past the connector's own deadline (a loaded machine) therefore reaches the connector
twice, and the second call must find the first one's batch."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
from flyte._internal.runtime.convert import convert_from_native_to_inputs
from flyte._internal.runtime.task_serde import get_proto_task
from flyte.extend import TaskTemplate
from flyte.models import SerializationContext
from flyteidl2.connector import connector_pb2, service_pb2_grpc
from flyteidl2.core import identifier_pb2

from tests.support.waiting import wait_until

STARTUP_TIMEOUT_S = 60.0
CALL_TIMEOUT_S = 60.0
# How often the backend's next rounds call again after a failed call, at most (bounded, so a connector
# that always fails still fails the test).
BACKEND_CALLS = 5
T = TypeVar("T")


class C0:
    """One `c0` process; `env` is added to this process's environment."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir, self.env = workdir, env
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.channel: grpc.Channel | None = None
        self.failed_calls: list[str] = []  # what the connector answered with an error, then again

    def start(self) -> C0:
        c0 = shutil.which("c0", path=str(Path(sys.executable).parent)) or "c0"
        log = open(self.workdir / "c0.log", "ab")  # noqa: SIM115  (the process writes it until stopped)
        self.process = subprocess.Popen(
            [c0, "--port", str(self.port), "--prometheus_port", str(free_port()), "--worker", "4"],
            cwd=self.workdir,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        grpc.channel_ready_future(self.channel).result(timeout=STARTUP_TIMEOUT_S)
        return self

    def stop(self) -> None:
        if self.channel is not None:
            self.channel.close()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return (self.workdir / "c0.log").read_text(errors="replace")

    @property
    def stub(self) -> service_pb2_grpc.AsyncConnectorServiceStub:
        assert self.channel is not None
        return service_pb2_grpc.AsyncConnectorServiceStub(self.channel)

    def create(self, task: TaskTemplate, attempt: int = 0, **inputs: Any) -> bytes:
        request = connector_pb2.CreateTaskRequest(
            template=template(task),
            inputs=asyncio.run(convert_from_native_to_inputs(task.native_interface, **inputs)).proto_inputs,
            output_prefix=str(self.workdir / "outputs"),
            task_execution_metadata=execution_metadata(attempt),
        )
        return bytes(self.again(lambda: self.stub.CreateTask(request, timeout=CALL_TIMEOUT_S)).resource_meta)

    def get(self, meta: bytes, task_type: str = "openai_batch") -> connector_pb2.Resource:
        request = connector_pb2.GetTaskRequest(resource_meta=meta, task_category=category(task_type))
        return self.again(lambda: self.stub.GetTask(request, timeout=CALL_TIMEOUT_S)).resource

    def delete(self, meta: bytes, task_type: str = "openai_batch") -> None:
        request = connector_pb2.DeleteTaskRequest(resource_meta=meta, task_category=category(task_type))
        self.stub.DeleteTask(request, timeout=CALL_TIMEOUT_S)

    def again(self, call: Callable[[], T]) -> T:
        """`call`, made again after the connector answered it with an error, as the backend does."""
        for made in range(1, BACKEND_CALLS + 1):
            try:
                return call()
            except grpc.RpcError as error:
                if made == BACKEND_CALLS or error.code() == grpc.StatusCode.NOT_FOUND:
                    raise
                self.failed_calls.append(f"{error.code()}: {error.details()}")
        raise AssertionError("unreachable: the last call returns or raises")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def template(task: TaskTemplate) -> Any:
    """The template as `flyte deploy` serializes it."""
    return get_proto_task(task, SerializationContext(version="v1", project="p", domain="d", org="o"))


def category(task_type: str) -> connector_pb2.TaskCategory:
    return connector_pb2.TaskCategory(name=task_type, version=0)


def execution_metadata(attempt: int) -> connector_pb2.TaskExecutionMetadata:
    task_id = identifier_pb2.TaskExecutionIdentifier(retry_attempt=attempt)
    task_id.node_execution_id.node_id = "a1"
    return connector_pb2.TaskExecutionMetadata(task_execution_id=task_id)


def wait_phase(
    service: C0, meta: bytes, phases: set[int], deadline_s: float = 120.0, task_type: str = "openai_batch"
) -> connector_pb2.Resource:
    """GetTask until the phase is one of `phases` (bounded)."""
    return wait_until(
        lambda: service.get(meta, task_type),
        until=lambda resource: resource.phase in phases,
        timeout=deadline_s,
        what=f"phase in {sorted(phases)}",
    )
