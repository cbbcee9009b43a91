"""A connector image's own command, run with free ports until its gRPC server listens: what the agent
and Flyte 2 image tests call it through."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc

from tests.images.conftest import Image
from tests.images.image_env import free_port
from tests.support.waiting import wait_until, while_running

STARTUP_SECONDS = 120


def with_ports(cmd: list[str], grpc_port: int, metrics_port: int) -> list[str]:
    """The image's CMD with its fixed ports swapped for free ones (the test shares the host's network)."""
    ports = {"--port": str(grpc_port), "--prometheus_port": str(metrics_port)}
    assert set(ports) <= set(cmd), f"the image's CMD no longer sets both ports: {cmd}"
    return [ports.get(prev, arg) if prev else arg for prev, arg in zip(["", *cmd[:-1]], cmd, strict=True)]


@contextmanager
def serving(image: Image, tmp_path: Path) -> Iterator[grpc.Channel]:
    """The image's command running, and a channel to its server once it listens (or the test fails,
    with the server's log, if it exits or does not listen in time)."""
    assert image.cmd is not None, f"the {image.target} image has no command of its own"
    grpc_port, metrics_port = free_port(), free_port()
    command, env = image.launch(with_ports(image.cmd, grpc_port, metrics_port), {}, tmp_path)
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            try:
                wait_listening(server, channel, log)
                yield channel
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


def wait_listening(server: subprocess.Popen[str], channel: grpc.Channel, log: Path) -> None:
    ready = grpc.channel_ready_future(channel)
    listening = while_running(server, ready.done, log.read_text)
    wait_until(listening, timeout=STARTUP_SECONDS, what="the connector server to listen")
