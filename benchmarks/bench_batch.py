"""End-to-end cost of one batch: the bare openai SDK, this project's `create_batch`, upstream's plugin.

One invocation starts one emulator (set to answer at once: no validating or finalizing time, no
request rate limit) and runs, for each request file size, every contender ``--repeats`` times, each
run in a fresh process, in rotating order:

- ``sdk``: the limit. Upload (streamed), create the batch, poll it every 50 ms, stream the output
  and error files to disk, with the bare ``openai`` SDK;
- ``floor``: the SDK's calls as three plain flytekit tasks in one workflow, run locally as
  ``create_batch`` is (``floor_workflow.py``): flytekit's own cost, which no plugin run as a flytekit
  workflow avoids;
- ``project``: a local run of this project's ``create_batch(..., is_json_iterator=False)`` workflow
  on a ``JSONLFile``, in this interpreter's environment;
- ``project-lean``: the same with ``results_table=False, max_request_attempts=1`` (what upstream
  lacks turned off);
- ``upstream``: the same script in ``--upstream-venv`` (a venv outside the repository with
  ``flytekitplugins-openai==1.16.31`` installed); skipped when the option is not given.

Each run's wall time is that of its whole process (interpreter start and imports included: that is
what a user waits for); its peak memory is the larger of ``ru_maxrss`` of the process and the
descendants it waited for (``wait4``) and the sampled sum of the PSS of its process tree (flytekit
forks short-lived children; PSS counts the pages they share with their parent once). The emulator's CPU time
during each run is read from ``/proc``, to show how much of the run is the emulator's. Every run's
result files are checked to hold one line per request.

    ./uvw run --frozen python benchmarks/bench_batch.py [--sizes 18,200] [--repeats 3]
        [--upstream-venv ~/upstream-venv] [--check]

Targets: ``project`` at most 1.15x ``sdk`` (median wall time) at every size, and its median peak
RSS at most ``upstream``'s. ``--check`` exits 1 when one is missed.

This file's top level imports only the standard library: the upstream venv runs it too.
"""

from __future__ import annotations

import argparse
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

MAX_RATIO = 1.15
SDK_POLL_S = 0.05
TERMINAL = ("completed", "failed", "expired", "cancelled")
ENDPOINT = "/v1/chat/completions"
API_KEY = "bench-emulator-key"
RSS_SAMPLE_S = 0.05
TICK = os.sysconf("SC_CLK_TCK")
# project-lean: this project's create_batch with what upstream lacks turned off (no results table or
# deck, one attempt per request): the cost of validating, the job connector and the count alone.
LEAN_OPTIONS: dict[str, object] = {"results_table": False, "max_request_attempts": 1}


# -- the contenders (child side) ------------------------------------------------------------------


def sdk_pipeline(path: str, base_url: str, out_dir: Path) -> dict[str, str]:
    """The bare SDK: what any plugin has to do at the least."""
    import openai

    results: dict[str, str] = {}
    with openai.OpenAI(base_url=base_url, api_key=API_KEY) as client:
        with open(path, "rb") as stream:
            uploaded = client.files.create(
                file=(os.path.basename(path), stream, "application/jsonl"), purpose="batch"
            )
        batch = client.batches.create(input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window="24h")
        while batch.status not in TERMINAL:
            time.sleep(SDK_POLL_S)
            batch = client.batches.retrieve(batch.id)
        for kind, file_id in (("output", batch.output_file_id), ("error", batch.error_file_id)):
            if file_id:
                dest = out_dir / f"{kind}.jsonl"
                with (
                    client.files.with_streaming_response.content(file_id) as response,
                    open(dest, "wb") as sink,
                ):
                    for chunk in response.iter_bytes(1 << 20):
                        sink.write(chunk)
                results[kind] = str(dest)
    return results


def workflow_pipeline(path: str, **options: object) -> dict[str, str]:
    """A local run of `create_batch` on a JSONL file; the same code runs this project and upstream.

    ``options`` are more `create_batch` arguments (only this project's: upstream has none of them).
    """
    from flytekit import Secret
    from flytekit.types.file import JSONLFile

    from flytekitplugins.openai import create_batch

    batch = create_batch(
        name="bench",
        secret=Secret(group="openai", key="api_key"),
        is_json_iterator=False,
        config={"endpoint": ENDPOINT, "completion_window": "24h"},
        **options,
    )
    result = batch(jsonl_in=JSONLFile(path))
    return {
        kind: str(value.path)
        for kind, value in (("output", result.output_file), ("error", result.error_file))
        if value is not None
    }


def floor_pipeline(path: str) -> dict[str, str]:
    """The SDK's work as three plain flytekit tasks run locally (floor_workflow.py): flytekit's cost."""
    from floor_workflow import floor
    from flytekit.types.file import JSONLFile

    return {"output": str(floor(jsonl_in=JSONLFile(path)).path)}


def run_contender(args: argparse.Namespace) -> None:
    if args.contender == "sdk":
        results = sdk_pipeline(args.file, args.base_url, Path(args.out_dir))
    elif args.contender == "floor":
        results = floor_pipeline(args.file)
    elif args.contender == "lean":
        results = workflow_pipeline(args.file, **LEAN_OPTIONS)
    else:
        results = workflow_pipeline(args.file)
    print(json.dumps(results), flush=True)


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


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process, all its threads included."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


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
        contender.python, __file__, "--contender", contender.mode, "--file", str(path),
        "--base-url", base_url, "--out-dir", str(run_dir),
    ]  # fmt: skip
    load = loadavg()
    emulator_before = process_cpu_s(emulator_pid)
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
    child.returncode = os.waitstatus_to_exitcode(status)
    emulator_cpu = process_cpu_s(emulator_pid) - emulator_before
    if child.returncode != 0:
        raise SystemExit(
            f"{contender.name} failed ({child.returncode}):\n{(run_dir / 'stderr').read_text()[-4000:]}"
        )
    results = json.loads((run_dir / "stdout").read_text().strip().splitlines()[-1])
    lines = 0
    for result in results.values():
        with open(result, "rb") as f:
            lines += sum(1 for _ in f)
    with open(path, "rb") as f:
        requests = sum(1 for _ in f)
    if lines != requests:
        raise SystemExit(f"{contender.name}: {lines} result lines for {requests} requests ({results})")
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


def report(contenders: list[Contender], sizes: list[float], actual_mb: dict[float, float]) -> list[str]:
    """Print the table; return the targets missed."""
    sdk = next(c for c in contenders if c.name == "sdk")
    print()
    print(
        "| input | contender | wall s, median (min-max) | x SDK | peak RSS MB, median | CPU s | "
        "emulator CPU s (share of wall) | load avg at start of runs |"
    )
    print("|-|-|-|-|-|-|-|-|")
    missed: list[str] = []
    for size in sizes:
        base = median(sdk.runs[size], "wall_s")
        for c in contenders:
            runs = c.runs[size]
            wall = median(runs, "wall_s")
            walls = [r.wall_s for r in runs]
            emulator = median(runs, "emulator_cpu_s")
            print(
                f"| {actual_mb[size]:.0f} MB | {c.name} | {wall:.2f} ({min(walls):.2f}-{max(walls):.2f}) | "
                f"{wall / base:.2f}x | {median(runs, 'peak_rss_mb'):.0f} | {median(runs, 'cpu_s'):.2f} | "
                f"{emulator:.2f} ({emulator / wall:.0%}) | {'; '.join(r.loadavg for r in runs)} |"
            )
        project = next((c for c in contenders if c.name == "project"), None)
        upstream = next((c for c in contenders if c.name == "upstream"), None)
        if project is not None:
            ratio = median(project.runs[size], "wall_s") / base
            if ratio > MAX_RATIO:
                missed.append(f"{actual_mb[size]:.0f} MB: project {ratio:.2f}x the SDK > {MAX_RATIO}x")
            if upstream is not None:
                mine, theirs = (median(x.runs[size], "peak_rss_mb") for x in (project, upstream))
                if mine > theirs:
                    missed.append(
                        f"{actual_mb[size]:.0f} MB: project peak RSS {mine:.0f} MB > upstream {theirs:.0f} MB"
                    )
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument(
        "--sizes", default="18,200", help="request file sizes in MB (10^6 bytes), comma separated"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of each contender per size")
    parser.add_argument(
        "--upstream-venv", type=Path, help="a venv with flytekitplugins-openai==1.16.31 installed"
    )
    parser.add_argument(
        "--only",
        help="comma-separated contenders to run (sdk, floor, project, project-lean, upstream); sdk always runs",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--contender", choices=["sdk", "floor", "workflow", "lean"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contender:
        run_contender(args)
        return 0

    from bench_files import make_request_file  # the same request files as bench_files.py

    contenders = [
        Contender("sdk", sys.executable, "sdk"),
        Contender("floor", sys.executable, "floor"),
        Contender("project", sys.executable, "workflow"),
        Contender("project-lean", sys.executable, "lean"),
    ]
    if args.upstream_venv:
        python = args.upstream_venv / "bin" / "python"
        if not python.exists():
            raise SystemExit(f"--upstream-venv {args.upstream_venv}: no bin/python there")
        contenders.append(Contender("upstream", str(python), "workflow"))
    if args.only:
        wanted = {"sdk", *args.only.split(",")}
        contenders = [c for c in contenders if c.name in wanted]
    sizes = [float(s) for s in args.sizes.split(",")]

    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    emulator = None
    try:
        files: dict[float, Path] = {}
        actual_mb: dict[float, float] = {}
        for size in sizes:
            files[size] = work / f"requests-{size:g}MB.jsonl"
            actual_mb[size] = make_request_file(files[size], args.requests, size) / 1e6
        emulator, base_url = start_emulator(
            work, max(p.stat().st_size for p in files.values()), args.requests
        )
        warm_up(contenders, base_url, emulator.pid, work)
        print(
            f"emulator at {base_url}; {args.requests:,} requests per batch; Python {sys.version.split()[0]}"
        )
        for size in sizes:
            for c in contenders:
                c.runs[size] = []
            for repeat in range(args.repeats):
                order = contenders[repeat % len(contenders) :] + contenders[: repeat % len(contenders)]
                for c in order:
                    run = measure(c, files[size], size, base_url, emulator.pid, work)
                    c.runs[size].append(run)
                    print(
                        f"  {actual_mb[size]:.0f} MB {c.name}: {run.wall_s:.2f} s, {run.peak_rss_mb:.0f} MB, "
                        f"emulator CPU {run.emulator_cpu_s:.2f} s (load {run.loadavg})",
                        flush=True,
                    )
        missed = report(contenders, sizes, actual_mb)
        print()
        for python, module in ((sys.executable, "openai"), (sys.executable, "flytekit")):
            print(f"python -c 'import {module}': {import_seconds(python, module, work):.2f} s (median of 3)")
        print(f"load average at the end: {loadavg()}")
        print("targets: " + ("met" if not missed else "MISSED: " + "; ".join(missed)))
        return 1 if missed and args.check else 0
    finally:
        if emulator is not None:
            emulator.terminate()
            emulator.wait(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
