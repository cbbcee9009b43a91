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
result files are checked to hold one line per request. The measuring is `batch_runs`'.

    ./uvw run --frozen python benchmarks/bench_batch.py [--sizes 18,200] [--repeats 3]
        [--upstream-venv ~/upstream-venv] [--quick] [--check]

Targets (issue 27), against ``upstream`` in the same invocation, at every size (medians):
``project`` at most 1.25x its wall time and its peak RSS at most upstream's + 40 MB;
``project-lean`` at most 1.05x its wall time. Each is printed beside its figure; ``--check`` exits 1
when one is missed (and needs ``--upstream-venv``). ``--quick`` (18 MB only, and only the contenders
the targets compare, with the sdk) is the run CI makes.

This file's top level imports only the standard library: the upstream venv runs it too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Each contender's most wall time, as a multiple of upstream's (medians, same invocation).
MAX_UPSTREAM_RATIO = {"project": 1.25, "project-lean": 1.05}
# The default run's most peak RSS above upstream's.
MAX_RSS_ABOVE_UPSTREAM_MB = 40.0
QUICK_SIZES = "18"
QUICK_CONTENDERS = "project,project-lean,upstream"
SDK_POLL_S = 0.05
TERMINAL = ("completed", "failed", "expired", "cancelled")
ENDPOINT = "/v1/chat/completions"
API_KEY = "bench-emulator-key"
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


# -- the table and the targets (parent side) ----------------------------------------------------


def report(contenders: list[Any], sizes: list[float], actual_mb: dict[float, float]) -> list[str]:
    """Print the table and each target beside its figure; return the targets missed."""
    from batch_runs import median

    sdk = next(c for c in contenders if c.name == "sdk")
    upstream = next((c for c in contenders if c.name == "upstream"), None)
    print()
    print(
        "| input | contender | wall s, median (min-max) | x SDK | x upstream | peak RSS MB, median | CPU s | "
        "emulator CPU s (share of wall) | load avg at start of runs |"
    )
    print("|-|-|-|-|-|-|-|-|-|")
    for size in sizes:
        base = median(sdk.runs[size], "wall_s")
        theirs = median(upstream.runs[size], "wall_s") if upstream else None
        for c in contenders:
            runs = c.runs[size]
            wall = median(runs, "wall_s")
            walls = [r.wall_s for r in runs]
            emulator = median(runs, "emulator_cpu_s")
            print(
                f"| {actual_mb[size]:.0f} MB | {c.name} | {wall:.2f} ({min(walls):.2f}-{max(walls):.2f}) | "
                f"{wall / base:.2f}x | {f'{wall / theirs:.2f}x' if theirs else '-'} | "
                f"{median(runs, 'peak_rss_mb'):.0f} | {median(runs, 'cpu_s'):.2f} | "
                f"{emulator:.2f} ({emulator / wall:.0%}) | {'; '.join(r.loadavg for r in runs)} |"
            )
    print()
    if upstream is None:
        print("targets: not judged (they are measured against upstream: give --upstream-venv)")
        return []
    missed: list[str] = []
    for size in sizes:
        for line, ok in _judged(contenders, upstream, size, f"{actual_mb[size]:.0f} MB"):
            print(f"{line}: {'ok' if ok else 'MISSED'}")
            if not ok:
                missed.append(line)
    return missed


def _judged(contenders: list[Any], upstream: Any, size: float, label: str) -> list[tuple[str, bool]]:
    """Each target at one size: (the figure beside its target, whether it is met)."""
    from batch_runs import median

    theirs = median(upstream.runs[size], "wall_s")
    their_rss = median(upstream.runs[size], "peak_rss_mb")
    judged = []
    for c in contenders:
        limit = MAX_UPSTREAM_RATIO.get(c.name)
        if limit is None:
            continue
        wall = median(c.runs[size], "wall_s")
        judged.append(
            (
                f"{label}: {c.name} wall {wall:.2f} s = {wall / theirs:.2f}x upstream's {theirs:.2f} s "
                f"(target <= {limit:.2f}x)",
                wall / theirs <= limit,
            )
        )
        if c.name == "project":
            rss = median(c.runs[size], "peak_rss_mb")
            judged.append(
                (
                    f"{label}: project peak RSS {rss:.0f} MB = upstream's {their_rss:.0f} MB "
                    f"{rss - their_rss:+.0f} MB (target <= +{MAX_RSS_ABOVE_UPSTREAM_MB:.0f} MB)",
                    rss - their_rss <= MAX_RSS_ABOVE_UPSTREAM_MB,
                )
            )
    return judged


def parse_args() -> argparse.Namespace:
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
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"CI's run: --sizes {QUICK_SIZES} --only {QUICK_CONTENDERS} (the targets' contenders)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--contender", choices=["sdk", "floor", "workflow", "lean"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.only = QUICK_SIZES, args.only or QUICK_CONTENDERS
    if args.check and not args.upstream_venv and not args.contender:
        parser.error("--check judges the targets against upstream: give --upstream-venv")
    return args


def contenders_of(args: argparse.Namespace) -> list[Any]:
    from batch_runs import Contender

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
    return contenders


def run_all(contenders: list[Any], args: argparse.Namespace, work: Path) -> list[str]:
    """Every contender's runs at every size, in rotating order; returns the targets missed."""
    from batch_runs import import_seconds, loadavg, measure, start_emulator, warm_up
    from bench_files import make_request_file  # the same request files as bench_files.py

    sizes = [float(s) for s in args.sizes.split(",")]
    files: dict[float, Path] = {}
    actual_mb: dict[float, float] = {}
    for size in sizes:
        files[size] = work / f"requests-{size:g}MB.jsonl"
        actual_mb[size] = make_request_file(files[size], args.requests, size) / 1e6
    emulator, base_url = start_emulator(work, max(p.stat().st_size for p in files.values()), args.requests)
    try:
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
    finally:
        emulator.terminate()
        emulator.wait(30)
    missed = report(contenders, sizes, actual_mb)
    print()
    for module in ("openai", "flytekit"):
        print(
            f"python -c 'import {module}': {import_seconds(sys.executable, module, work):.2f} s (median of 3)"
        )
    print(f"load average at the end: {loadavg()}")
    return missed


def main() -> int:
    args = parse_args()
    if args.contender:
        run_contender(args)
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        missed = run_all(contenders_of(args), args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.upstream_venv:
        print("targets: " + ("met" if not missed else "MISSED: " + "; ".join(missed)))
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
