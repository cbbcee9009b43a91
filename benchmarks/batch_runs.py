"""The measuring side of bench_batch.py: each contender's run in a fresh process, timed and sampled.

A run's wall time is its whole process's; its peak memory the larger of ``ru_maxrss`` of the
process and the descendants it waited for (``wait4``) and the sampled sum of the PSS of its process
tree. The emulator's CPU time during the run is read from ``/proc``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from proc_stats import cpu_seconds

API_KEY = "bench-emulator-key"
RSS_SAMPLE_S = 0.05
BENCH_BATCH = str(Path(__file__).with_name("bench_batch.py"))


# -- measuring (parent side) ----------------------------------------------------------------------


@dataclass
class Run:
    contender: str
    megabytes: float
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    emulator_cpu_s: float
    loadavg: str


@dataclass
class Contender:
    name: str
    python: str
    mode: str  # "sdk", "floor", "workflow" or "lean"
    runs: dict[float, list[Run]] = field(default_factory=dict)


def tree_memory_bytes(pid: int) -> int:
    """Memory of a process and all its live descendants, each page counted once.

    flytekit forks short-lived children in a local run; a fork's RSS counts every page it still
    shares with its parent, so RSS summed over the tree would count those pages twice. PSS divides
    each shared page among the processes sharing it, so the sum is what the tree really holds.
    """
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += _pss_bytes(current)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo += [int(child) for child in f.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _pss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def measure(
    contender: Contender, path: Path, megabytes: float, base_url: str, emulator_pid: int, work: Path
) -> Run:
    """One run of ``contender`` on ``path`` in a fresh process: its wall time, CPU time and peak memory."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"{contender.name}-", dir=work))
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        # Bytecode compiled once (by the warm-up run) and read from then on, as in an installed image,
        # kept beside the run's files rather than in anyone's venv.
        "PYTHONPYCACHEPREFIX": str(work / "pycache"),
        "OPENAI_BASE_URL": base_url,
        "OPENAI_API_KEY": API_KEY,
        "_FSEC_OPENAI_API_KEY": API_KEY,  # the upload and download tasks' secret (group openai, key api_key)
        "FLYTE_OPENAI_API_KEY": API_KEY,  # the connector's secret
        "_FSEC_FLYTE_OPENAI_API_KEY": API_KEY,
        "TMPDIR": str(run_dir),  # flytekit's local sandbox, so each run's copies are removed with it
    }
    argv = [
        contender.python, BENCH_BATCH, "--contender", contender.mode, "--file", str(path),
        "--base-url", base_url, "--out-dir", str(run_dir),
    ]  # fmt: skip
    load = loadavg()
    emulator_before = cpu_seconds(emulator_pid)
    peak_sampled = 0
    with open(run_dir / "stdout", "w") as out, open(run_dir / "stderr", "w") as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_sampled
            while not done.wait(RSS_SAMPLE_S):
                peak_sampled = max(peak_sampled, tree_memory_bytes(child.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
    emulator_cpu = cpu_seconds(emulator_pid) - emulator_before
    check_results(contender.name, os.waitstatus_to_exitcode(status), run_dir, path)
    shutil.rmtree(run_dir, ignore_errors=True)
    peak = max(usage.ru_maxrss * 1024, peak_sampled) / 2**20
    return Run(
        contender=contender.name,
        megabytes=megabytes,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=peak,
        emulator_cpu_s=emulator_cpu,
        loadavg=load,
    )


def check_results(name: str, returncode: int, run_dir: Path, path: Path) -> None:
    """Stop the benchmark unless the run succeeded with one result line per request."""
    if returncode != 0:
        raise SystemExit(f"{name} failed ({returncode}):\n{(run_dir / 'stderr').read_text()[-4000:]}")
    results = json.loads((run_dir / "stdout").read_text().strip().splitlines()[-1])
    lines = 0
    for result in results.values():
        with open(result, "rb") as f:
            lines += sum(1 for _ in f)
    with open(path, "rb") as f:
        requests = sum(1 for _ in f)
    if lines != requests:
        raise SystemExit(f"{name}: {lines} result lines for {requests} requests ({results})")


def start_emulator(work: Path, biggest: int, requests: int) -> tuple[subprocess.Popen[str], str]:
    """One emulator for every run, answering at once (limits raised only for oversized files)."""
    emulator = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("openai-batch-emulator")),
            "--data-dir", str(work / "emulator"),
            "--api-key", API_KEY,
            "--validating-seconds", "0",
            "--finalizing-seconds", "0",
            "--requests-per-second", "1e12",
            "--max-input-bytes", str(max(biggest, 200 * 1024 * 1024)),
            "--max-upload-bytes", str(max(biggest, 512 * 1024 * 1024)),
            "--max-requests", str(max(requests, 50_000)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert emulator.stdout is not None
    return emulator, emulator.stdout.readline().strip()


def warm_up(contenders: list[Contender], base_url: str, emulator_pid: int, work: Path) -> None:
    """Run each contender once on a small file, untimed, so its bytecode is compiled and cached."""
    from bench_files import make_request_file

    path = work / "warm-up.jsonl"
    make_request_file(path, 100, 0.05)
    for c in contenders:
        measure(c, path, 0.05, base_url, emulator_pid, work)


def import_seconds(python: str, module: str, work: Path, repeats: int = 3) -> float:
    """Median wall time of a fresh interpreter that only imports ``module`` (bytecode compiled)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    walls = []
    for _ in range(repeats + 1):  # the first run compiles
        start = time.perf_counter()
        subprocess.run([python, "-c", f"import {module}"], env=env, check=True)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls[1:])


def median(runs: list[Run], attribute: str) -> float:
    return statistics.median(getattr(r, attribute) for r in runs)
