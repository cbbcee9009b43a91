"""The services the load benchmark drives and what it reads of them: the emulator (its command, its
settings while tasks are created, its batches counted through the openai SDK), the connector service
(`pyflyte serve connector` of this environment or of another venv), and /proc (CPU seconds, peak RSS).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import httpx
import openai
from flyteidl.admin import agent_pb2
from flyteidl.service import agent_pb2_grpc
from proc_stats import cpu_seconds as cpu_seconds
from proc_stats import peak_rss_mb as peak_rss_mb

STARTUP_TIMEOUT_S = 90.0
REQUESTS_PER_FILE = 2
UPLOADS_AT_ONCE = 16
# A batch is kept validating until this long after the measured window is expected to end.
BATCH_TAIL_S = 20.0


def load_average() -> float:
    return os.getloadavg()[0]


def start_emulator(workdir: Path, validating_s: float) -> tuple[subprocess.Popen[bytes], str]:
    """The emulator's command on a free loopback port; its batches validate for `validating_s` until
    told otherwise, then answer at once."""
    command = [
        sys.executable, "-m", "openai_batch_emulator", "--data-dir", str(workdir / "emulator"), "--port", "0",
        "--validating-seconds", str(validating_s), "--finalizing-seconds", "1",
    ]  # fmt: skip
    with (workdir / "emulator.log").open("ab") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log)
    assert process.stdout is not None
    base_url = process.stdout.readline().decode().strip()
    if not base_url.startswith("http://127.0.0.1:"):
        stop(process)
        raise RuntimeError(f"the emulator did not start: {(workdir / 'emulator.log').read_text()}")
    return process, base_url


def start_connector(
    workdir: Path, venv: Path | None, serve: str, base_url: str, key: str, task_types: set[str]
) -> tuple[subprocess.Popen[bytes], int]:
    """`pyflyte serve <serve>` of this interpreter's environment, or of `venv`, once it answers ListAgents
    with `task_types`; the key and the emulator's URL come from its environment."""
    pyflyte = (venv / "bin" if venv else Path(sys.executable).parent) / "pyflyte"
    port = _free_port()
    command = [str(pyflyte), "serve", serve, "--port", str(port), "--prometheus_port", str(_free_port())]
    env = {k: v for k, v in os.environ.items() if "OPENAI" not in k}
    # Ours reads FLYTE_OPENAI_API_KEY; upstream reads it as a flytekit secret (_FSEC_ prefix).
    env.update(OPENAI_BASE_URL=base_url, FLYTE_OPENAI_API_KEY=key, _FSEC_FLYTE_OPENAI_API_KEY=key)
    log_path = workdir / "connector.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        metadata = agent_pb2_grpc.AgentMetadataServiceStub(channel)
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                stop(process)
                raise RuntimeError(f"the connector did not start:\n{log_path.read_text()}")
            try:
                reply = metadata.ListAgents(agent_pb2.ListAgentsRequest(), timeout=1)
            except grpc.RpcError:
                time.sleep(0.2)
                continue
            served = {t for agent in reply.agents for t in agent.supported_task_types}
            if task_types <= served:
                return process, port
            stop(process)
            raise RuntimeError(f"the connector serves {sorted(served)}, not {sorted(task_types)}")


def versions(venv: Path | None) -> str:
    """Python, flytekit and openai of the connector's environment."""
    python = str(venv / "bin" / "python") if venv else sys.executable
    probe = "import platform, flytekit, openai; print(platform.python_version(), flytekit.__version__, openai.__version__)"
    python_version, flytekit_version, openai_version = subprocess.check_output(
        [python, "-c", probe], text=True
    ).split()
    return f"Python {python_version}, flytekit {flytekit_version}, openai {openai_version}"


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def upload_files(client: openai.AsyncOpenAI, count: int) -> list[str]:
    """`count` request files of REQUESTS_PER_FILE small chat requests, uploaded through the SDK."""
    gate = asyncio.Semaphore(UPLOADS_AT_ONCE)

    async def upload(index: int) -> str:
        lines = (
            f'{{"custom_id": "f{index}-r{i}", "method": "POST", "url": "/v1/chat/completions", "body": '
            f'{{"model": "gpt-4o-mini", "messages": [{{"role": "user", "content": "Say {i}"}}]}}}}\n'
            for i in range(REQUESTS_PER_FILE)
        )
        async with gate:
            created = await client.files.create(
                file=(f"f{index}.jsonl", "".join(lines).encode()), purpose="batch"
            )
        return created.id

    return list(await asyncio.gather(*(upload(i) for i in range(count))))


async def retime_batches(base_url: str, created: Callable[[], int], total: int, window_s: float) -> None:
    """Every 2 s until cancelled, set how long new batches validate: until the measured window (which
    starts once all `total` tasks are created, at the pace so far) is expected to be over."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url.removesuffix("/v1"), timeout=10) as http:
        while True:
            done = created()
            elapsed = time.monotonic() - started
            left = elapsed / done * (total - done) if done else total * 0.2
            settings = {"validating_seconds": left + window_s + BATCH_TAIL_S}
            (await http.patch("/_emulator/settings", json=settings)).raise_for_status()
            await asyncio.sleep(2)


async def count_batches(
    client: openai.AsyncOpenAI, owners: dict[str, dict[str, str] | None]
) -> tuple[int, int, int]:
    """Every batch on the server against `owners` (input file id -> the tags its batch must carry, None:
    any): how many files have exactly one rightly tagged batch, how many none, how many batches extra
    (a wrongly tagged batch, or one of another file, counts as extra)."""
    seen: dict[str, int] = {}
    strays = 0
    async for batch in client.batches.list(limit=100):
        if batch.input_file_id not in owners:
            strays += 1
            continue
        tags, carried = owners[batch.input_file_id], batch.metadata or {}
        right = tags is None or all(carried.get(k) == v for k, v in tags.items())
        seen[batch.input_file_id] = seen.get(batch.input_file_id, 0) + (1 if right else 2)
    one = sum(seen.get(f) == 1 for f in owners)
    none = sum(f not in seen for f in owners)
    return one, none, strays + sum(n - 1 for n in seen.values() if n > 1)
