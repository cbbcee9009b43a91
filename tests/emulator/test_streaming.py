"""Big files flow through the emulator without being held in memory (measured on a CLI server process)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from .helpers import chat_line, wait

COMMAND = str(Path(sys.executable).parent / "openai-batch-emulator")
SIZE = 120 * 1024 * 1024
# Far below SIZE: what a server that buffered the file would need at least once.
ALLOWED_GROWTH = 48 * 1024 * 1024

pytestmark = pytest.mark.slow


def _peak_rss(pid: int) -> int:
    """The process's resident-set high-water mark (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    if not Path("/proc/self/status").exists():
        pytest.skip("needs Linux /proc to read peak memory")
    process = subprocess.Popen(
        [
            COMMAND,
            "--data-dir",
            str(tmp_path / "data"),
            "--validating-seconds",
            "0",
            "--finalizing-seconds",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process, process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(10)


def _big_request_file(path: Path) -> str:
    """~SIZE bytes of valid requests, each carrying 1 MB of padding the responder ignores."""
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        for i in range(SIZE // (1024 * 1024)):
            line = json.dumps(chat_line(f"r{i}", user="u" * (1024 * 1024))).encode() + b"\n"
            handle.write(line)
            digest.update(line)
    return digest.hexdigest()


def test_big_upload_batch_and_download_stay_small(
    server: tuple[subprocess.Popen[str], str], tmp_path: Path
) -> None:
    process, base_url = server
    source = tmp_path / "big.jsonl"
    digest = _big_request_file(source)
    headers = {"Authorization": "Bearer sk-test"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=120) as http:
        http.get("/files").raise_for_status()  # warm up before the baseline
        baseline = _peak_rss(process.pid)

        with source.open("rb") as handle:
            made = http.post("/files", files={"file": ("big.jsonl", handle)}, data={"purpose": "batch"})
        made.raise_for_status()
        file_id = made.json()["id"]
        assert made.json()["bytes"] == source.stat().st_size

        batch = http.post(
            "/batches",
            json={"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"},
        ).json()
        with openai.OpenAI(base_url=base_url, api_key="sk-test") as client:
            done = wait(client, batch["id"], timeout=60)
        assert done.status == "completed", done.errors
        assert done.request_counts is not None
        assert done.request_counts.completed == SIZE // (1024 * 1024)

        streamed = hashlib.sha256()
        with http.stream("GET", f"/files/{file_id}/content") as response:
            for chunk in response.iter_bytes():
                streamed.update(chunk)
        assert streamed.hexdigest() == digest

        growth = _peak_rss(process.pid) - baseline
    assert growth < ALLOWED_GROWTH, f"server memory grew by {growth / 2**20:.0f} MiB"
