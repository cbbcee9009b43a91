"""Benchmark of forwarding mode: the forwarder's own CPU per request and the requests a second it sustains.

Three processes: a canned upstream (a raw asyncio HTTP/1.1 server that answers every POST with one
fixed chat completion, so it costs next to nothing — a second emulator costs about 1 ms of CPU a
request itself and would hide the forwarder's limit on 2 cores), the forwarding server as a user
starts it (`openai-batch-server --forward-to ...`), and this client, which uploads a batch, starts it,
and polls it thinly. Figures cover the batch from its creation to its last answer (validation and
forwarding, not the upload):

- forwarder CPU per request (user + system of its process) — target under `MAX_CPU_MS_PER_REQUEST`;
- requests a second (wall, so it also measures whatever else the machine runs: printed with nproc
  and the load average);
- the forwarder's peak RSS, which stays flat however big the batch (`--pad` bytes per line make a
  200 MB input with 50,000 requests: `--requests 50000 --pad 3900`).

    ./uvw run --frozen python benchmarks/bench_forward.py [--requests 5000] [--concurrency 32] [--check]

``--check`` exits 1 when the CPU target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from proc_stats import cpu_seconds, peak_rss_mb

MAX_CPU_MS_PER_REQUEST = 1.0
CLIENT_KEY = "bench-forward-client"
UPSTREAM_KEY = "bench-forward-upstream"
CANNED = json.dumps(
    {
        "id": "chatcmpl-canned",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "canned",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "canned"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
    }
).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(CANNED)).encode()
    + b"\r\n\r\n"
    + CANNED
)


async def _canned_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Keep-alive: read a request's head and its Content-Length bytes, answer the canned body."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            writer.write(RESPONSE)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def _serve_canned() -> None:
    server = await asyncio.start_server(_canned_connection, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def _write_requests(path: Path, count: int, pad: int) -> None:
    padding = "x" * pad
    with path.open("w") as out:
        for i in range(count):
            body = {"model": "canned", "messages": [{"role": "user", "content": f"question {i} {padding}"}]}
            out.write(
                json.dumps(
                    {"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}
                )
            )
            out.write("\n")


def _run_batch(base_url: str, source: Path, total: int, pid: int) -> dict[str, float]:
    """Upload, then time from the create call to the last answer: validation and forwarding, the
    forwarder's CPU over that stretch."""
    headers = {"Authorization": f"Bearer {CLIENT_KEY}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=600) as http, source.open("rb") as data:
        upload = http.post("/files", files={"file": ("requests.jsonl", data)}, data={"purpose": "batch"})
        upload.raise_for_status()
        body = {
            "input_file_id": upload.json()["id"],
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
        }
        start_wall, start_cpu = time.monotonic(), cpu_seconds(pid)
        batch = http.post("/batches", json=body).json()
        while batch["status"] in ("validating", "in_progress"):
            time.sleep(0.05)
            batch = http.get(f"/batches/{batch['id']}").json()
        end_wall, end_cpu = time.monotonic(), cpu_seconds(pid)
    counts = batch["request_counts"]
    if batch["status"] not in ("finalizing", "completed") or counts["completed"] != total:
        raise SystemExit(f"the batch did not complete: {batch['status']} {counts}")
    return {"seconds": end_wall - start_wall, "cpu": end_cpu - start_cpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--pad", type=int, default=0, help="extra bytes per request line")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--serve-canned", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_canned:
        asyncio.run(_serve_canned())
        return 0
    bin_dir = Path(sys.executable).parent
    upstream = subprocess.Popen(
        [sys.executable, __file__, "--serve-canned"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert upstream.stdout is not None
        port = int(upstream.stdout.readline())
        with tempfile.TemporaryDirectory(prefix="bench-forward-") as tmp:
            source = Path(tmp) / "requests.jsonl"
            _write_requests(source, args.requests, args.pad)
            command = [
                str(bin_dir / "openai-batch-server"),
                *("--data-dir", str(Path(tmp) / "data"), "--port", "0", "--api-key", CLIENT_KEY),
                *(
                    "--forward-to",
                    f"http://127.0.0.1:{port}/v1",
                    "--forward-concurrency",
                    str(args.concurrency),
                ),
                *("--validating-seconds", "0", "--finalizing-seconds", "0"),
            ]
            env = {**os.environ, "OPENAI_FORWARD_API_KEY": UPSTREAM_KEY}
            server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
            try:
                assert server.stdout is not None
                base_url = server.stdout.readline().strip()
                upstream_cpu = cpu_seconds(upstream.pid)
                figures = _run_batch(base_url, source, args.requests, server.pid)
                figures["upstream_cpu"] = cpu_seconds(upstream.pid) - upstream_cpu
                figures["rss"] = peak_rss_mb(server.pid)
            finally:
                server.terminate()
                server.wait(30)
            figures["megabytes"] = source.stat().st_size / 1e6
    finally:
        upstream.terminate()
        upstream.wait(30)
    per_request_ms = _report(args, figures)
    if args.check and per_request_ms >= MAX_CPU_MS_PER_REQUEST:
        print("FAILED: the forwarder's CPU per request is over its target", file=sys.stderr)
        return 1
    return 0


def _report(args: argparse.Namespace, figures: dict[str, float]) -> float:
    """Print the figures beside the target and the machine; the forwarder's CPU ms per request."""
    requests = args.requests
    per_request_ms = figures["cpu"] / requests * 1000
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(f"batch: {requests} requests, {figures['megabytes']:.1f} MB input, concurrency {args.concurrency}")
    print(f"forwarder CPU per request: {per_request_ms:.3f} ms (target < {MAX_CPU_MS_PER_REQUEST} ms)")
    print(
        f"requests per second: {requests / figures['seconds']:.0f} ({figures['seconds']:.2f} s from create to last answer)"
    )
    print(f"canned upstream CPU per request: {figures['upstream_cpu'] / requests * 1000:.3f} ms")
    print(f"forwarder peak RSS: {figures['rss']:.0f} MB")
    return per_request_ms


if __name__ == "__main__":
    sys.exit(main())
