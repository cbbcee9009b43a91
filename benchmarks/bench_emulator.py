"""Benchmark of the emulator itself: upload -> batch answered at once -> download of the output file.

The emulator runs in a process of its own (the `openai-batch-emulator` command, as a user starts it)
with every delay at zero and `requests_per_second` high enough to answer every request at once, so
the figures are the emulator's own work. For each phase it prints the wall time seen by the client,
the CPU time the emulator process spent, and how much the emulator's peak RSS grew.

    ./uvw run --frozen python benchmarks/bench_emulator.py [--requests 50000] [--megabytes 200] [--check]

The client side is deliberately thin (httpx streaming the request body from disk and the response
to nowhere), so it is not what is measured.

Targets: the emulator is not the bottleneck of a full-size batch (50,000 requests, 200 MB): each phase
costs the emulator less than `MAX_CPU_SECONDS` of CPU (scaled up for larger runs), and its peak RSS
grows by less than `MAX_RSS_GROWTH_MB` whatever the file size. CPU time, not wall time, is the target:
on a shared machine the wall time mostly measures the other processes. ``--check`` exits non-zero
when a target is missed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from bench_files import make_request_file
from proc_stats import cpu_seconds, peak_rss_mb

MAX_CPU_SECONDS = 3.0
MAX_RSS_GROWTH_MB = 100.0
API_KEY = "bench-emulator-key"
CHUNK = 1024 * 1024


class Phase:
    """Wall time, the emulator's CPU time and its peak RSS growth over a `with` block."""

    def __init__(self, name: str, pid: int, results: list[dict[str, Any]]) -> None:
        self.name, self.pid, self.results = name, pid, results

    def __enter__(self) -> Phase:
        self.rss = peak_rss_mb(self.pid)
        self.cpu = cpu_seconds(self.pid)
        self.wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.results.append(
            {
                "phase": self.name,
                "seconds": time.perf_counter() - self.wall,
                "cpu_seconds": cpu_seconds(self.pid) - self.cpu,
                "rss_growth_mb": peak_rss_mb(self.pid) - self.rss,
            }
        )


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _multipart(path: Path, boundary: str) -> Iterator[bytes]:
    """A multipart body streamed from disk (httpx's `files=` would read the file into memory first)."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="requests.jsonl"\r\n'
        "Content-Type: application/jsonl\r\n\r\n"
    ).encode()
    yield from _file_chunks(path)
    yield f"\r\n--{boundary}--\r\n".encode()


def run(requests: int, megabytes: float, work: Path) -> tuple[int, list[dict[str, Any]]]:
    path = work / "requests.jsonl"
    size = make_request_file(path, requests, megabytes)
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("openai-batch-emulator")),
            "--port", "0",
            "--data-dir", str(work / "emulator"),
            "--api-key", API_KEY,
            "--validating-seconds", "0",
            "--finalizing-seconds", "0",
            "--requests-per-second", "1e12",
            "--max-input-bytes", str(max(size, 200 * 1024 * 1024)),
            "--max-requests", str(max(requests, 50_000)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    results: list[dict[str, Any]] = []
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        headers = {"Authorization": f"Bearer {API_KEY}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=600) as http:
            http.get("/files").raise_for_status()
            with Phase("upload", server.pid, results):
                boundary = "bench-emulator-boundary"
                made = http.post(
                    "/files",
                    content=_multipart(path, boundary),
                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
                )
                made.raise_for_status()
            with Phase("batch", server.pid, results):
                batch = http.post(
                    "/batches",
                    json={
                        "input_file_id": made.json()["id"],
                        "endpoint": "/v1/chat/completions",
                        "completion_window": "24h",
                    },
                ).json()
                while batch["status"] not in ("completed", "failed", "expired", "cancelled"):
                    time.sleep(0.05)
                    batch = http.get(f"/batches/{batch['id']}").json()
            if batch["status"] != "completed":
                raise SystemExit(f"the batch ended {batch['status']}: {batch['errors']}")
            assert batch["request_counts"]["completed"] == requests, batch["request_counts"]
            with Phase("download", server.pid, results):
                received = 0
                with http.stream("GET", f"/files/{batch['output_file_id']}/content") as answer:
                    answer.raise_for_status()
                    for chunk in answer.iter_raw(CHUNK):
                        received += len(chunk)
            results[-1]["bytes"] = received
    finally:
        server.terminate()
        server.wait(60)
    return size, results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--megabytes", type=float, default=200.0, help="file size in MB (10^6 bytes)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    if not Path("/proc/self/stat").exists():
        raise SystemExit("this benchmark reads /proc (Linux)")
    work = Path(tempfile.mkdtemp(prefix="bench-emulator-"))
    try:
        size, results = run(args.requests, args.megabytes, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.requests:,} requests, {size / 1e6:.1f} MB")
    missed = []
    budget = MAX_CPU_SECONDS * max(1.0, args.requests / 50_000, size / 200e6)
    for result in results:
        extra = f", {result['bytes'] / 1e6:.1f} MB out" if "bytes" in result else ""
        print(
            f"{result['phase']:>8}: {result['seconds']:6.2f} s wall, {result['cpu_seconds']:6.2f} s emulator CPU, "
            f"peak RSS +{result['rss_growth_mb']:.1f} MB{extra}"
        )
        if result["cpu_seconds"] > budget:
            missed.append(f"{result['phase']} {result['cpu_seconds']:.1f} s of CPU > {budget:.1f} s")
        if result["rss_growth_mb"] >= MAX_RSS_GROWTH_MB:
            missed.append(f"{result['phase']} RSS growth {result['rss_growth_mb']:.0f} MB")
    print("targets: " + ("met" if not missed else "MISSED: " + "; ".join(missed)))
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
