"""Load benchmark of the connector service: one real `pyflyte serve connector` process driven over gRPC as
FlytePropeller drives it, with many jobs in flight against the emulator.

Two processes besides this driver: the emulator (its command, so its CPU is apart), whose batches take
a few minutes, and the connector service (`connector_services.py`). The driver (`connector_drive.py`,
one asyncio loop, grpc.aio)
uploads one small request file per part, sends CreateTask for `--jobs` single-batch tasks
(`openai-batch`) and `--part-jobs` twenty-part job tasks (`openai-batch-job`, every part in flight),
and GetTask for each task every `--cadence` seconds with a 5 s deadline, until every task has ended.
While the tasks are created the emulator is told, every 2 s, how long to keep new batches validating,
so that every batch is still running at the end of the measured window.

Measured over a window of `--duration` seconds that starts once every task is created: GetTask p50
and p99 latency, the connector's CPU (utime + stime from /proc) per GetTask; over the whole drive:
calls past their deadline, the connector's peak RSS (VmHWM); at the end, through the openai SDK,
every batch on the emulator: each part (each input file) must have exactly one batch, tagged with its
task's key and part, and every job must have SUCCEEDED. The same drive runs again at
`--also-cadence` seconds, reported beside it, and with `--upstream-venv` (a venv outside the
repository with `flytekitplugins-openai==1.16.31` and `flytekit[connector]==1.16.31`) upstream's
connector gets the single-batch tasks of the same drives (it has no job task; its batches carry no
tags, so they are counted by input file).

    uv run --frozen python benchmarks/bench_connector_load.py [--jobs 1000] [--part-jobs 50]
        [--cadence 10] [--also-cadence 2] [--duration 180] [--upstream-venv /tmp/upstream-venv] [--check]

Targets, judged on this project's drive at `--cadence`: CPU per GetTask under 5 ms, GetTask p99
under 200 ms, no call past its deadline, connector peak RSS under 400 MB, every job SUCCEEDED with
exactly one batch per part. `--check` exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the tests' builders of what propeller sends

import connector_services as services  # noqa: E402
import grpc  # noqa: E402
import openai  # noqa: E402
from connector_drive import Calls, DrivenTask, Driver, ms, p50_p99  # noqa: E402
from flyteidl.admin import agent_pb2  # noqa: E402
from flyteidl.core.execution_pb2 import TaskExecution  # noqa: E402

from flytekitplugins.openai.batch import BatchJobTask  # noqa: E402
from flytekitplugins.openai.batch.task import BatchEndpointTask  # noqa: E402
from openai_batch_jobs.api.batch_config import EXECUTION_METADATA_KEY  # noqa: E402
from openai_batch_jobs.job.state import PART_METADATA_KEY  # noqa: E402
from tests.batch.flyte_models import execution_metadata_pb, inputs_pb, job_inputs_pb, template_pb  # noqa: E402
from tests.batch.service import JOB_TASK_TYPE, TASK_TYPE, serve_command  # noqa: E402

MAX_CPU_MS_PER_GET = 5.0
MAX_P99_MS = 200.0
MAX_RSS_MB = 400.0
DEADLINE_S = 5.0
PARTS = 20
CREATES_AT_ONCE = 16
KEY = "sk-emulator"


@dataclass
class Drive:
    """What one drive measured."""

    label: str
    tasks: list[DrivenTask]
    driver: Driver
    stretches: dict[str, Calls] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_s: float = 0.0
    emulator_cpu_s: float = 0.0
    driver_cpu_s: float = 0.0
    rss_mb: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)
    versions: str = ""
    parts: int = 0
    one_batch: int = 0
    missing: int = 0
    extra: int = 0

    @property
    def window(self) -> Calls:
        return self.stretches["window"]

    @property
    def cpu_ms_per_get(self) -> float | None:
        # Per call made: a call past its deadline is still worked on by the service.
        return 1000 * self.cpu_s / self.window.made if self.window.made else None

    @property
    def succeeded(self) -> int:
        return sum(t.phase == TaskExecution.SUCCEEDED for t in self.tasks)

    @property
    def past_deadline(self) -> int:
        return sum(c.past_deadline for c in self.stretches.values())


def make_tasks(file_ids: list[str], jobs: int, part_jobs: int) -> list[DrivenTask]:
    """The single-batch tasks, with the job tasks spread among them (the order CreateTask comes in)."""
    single = template_pb(BatchEndpointTask(name="bench.load.single", config={}))
    job = template_pb(BatchJobTask(name="bench.load.job", config={}, max_in_flight=PARTS))
    files = iter(file_ids)
    tasks = []
    for index in range(jobs):
        name, file_id = f"load-s{index}", next(files)
        tasks.append(
            DrivenTask(name, TASK_TYPE, _create_request(single, inputs_pb(file_id), name), [file_id])
        )
    every = max(1, jobs // part_jobs) if part_jobs else 1
    for index in range(part_jobs):
        name, parts = f"load-j{index}", [next(files) for _ in range(PARTS)]
        task = DrivenTask(name, JOB_TASK_TYPE, _create_request(job, job_inputs_pb(parts), name), parts)
        tasks.insert(index * (every + 1), task)
    return tasks


def _create_request(template: object, inputs: object, name: str) -> agent_pb2.CreateTaskRequest:
    return agent_pb2.CreateTaskRequest(
        inputs=inputs,
        template=template,
        output_prefix=f"s3://bucket/metadata/{name}/outputs",
        task_execution_metadata=execution_metadata_pb(name),
    )


def _owners(tasks: list[DrivenTask], tagged: bool) -> dict[str, dict[str, str] | None]:
    """Each input file -> the tags its one batch must carry (None: upstream tags nothing)."""
    owners: dict[str, dict[str, str] | None] = {}
    for task in tasks:
        for part, file_id in enumerate(task.file_ids):
            tags = {EXECUTION_METADATA_KEY: f"p/d/{task.name}/n0/0"}
            if task.task_type == JOB_TASK_TYPE:
                tags[PART_METADATA_KEY] = str(part)
            owners[file_id] = tags if tagged else None
    return owners


def run_drive(args: argparse.Namespace, label: str, cadence: float, upstream: Path | None) -> Drive:
    """One drive on a fresh emulator and connector service."""
    part_jobs = 0 if upstream else args.part_jobs
    task_types = {TASK_TYPE, JOB_TASK_TYPE} if part_jobs else {TASK_TYPE}
    serve = "connector" if upstream else serve_command()
    with tempfile.TemporaryDirectory(prefix="bench-connector-load-") as tmp:
        workdir = Path(tmp)
        emulator, base_url = services.start_emulator(workdir, args.duration + 60)
        connector = None
        try:
            connector, port = services.start_connector(workdir, upstream, serve, base_url, KEY, task_types)
            drive = asyncio.run(
                _drive(args, label, cadence, part_jobs, base_url, port, (connector.pid, emulator.pid))
            )
        finally:
            services.stop(connector)
            services.stop(emulator)
    drive.versions = services.versions(upstream)
    return drive


async def _drive(
    args: argparse.Namespace, label: str, cadence: float, part_jobs: int, base_url: str, port: int,
    pids: tuple[int, int],
) -> Drive:  # fmt: skip
    """Upload, then create, poll and measure every task; then count the batches."""
    client = openai.AsyncOpenAI(base_url=base_url, api_key=KEY, max_retries=5)
    count = args.jobs + part_jobs * PARTS
    print(f"[{label}] uploading {count} request files", flush=True)
    tasks = make_tasks(await services.upload_files(client, count), args.jobs, part_jobs)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        drive = Drive(label, tasks, Driver(channel, tasks, cadence, DEADLINE_S, args.concurrency))
        await _measure(args, drive, base_url, pids)
    owners = _owners(tasks, tagged=drive.label.startswith("project"))
    drive.parts = len(owners)
    drive.one_batch, drive.missing, drive.extra = await services.count_batches(client, owners)
    await client.close()
    return drive


async def _measure(args: argparse.Namespace, drive: Drive, base_url: str, pids: tuple[int, int]) -> None:
    """The ramp (every CreateTask, polls of the created tasks), the measured window, the drain."""
    driver, label, (pid, emulator_pid) = drive.driver, drive.label, pids
    load_start = os.getloadavg()[0]
    polls = asyncio.create_task(driver.run_polls())
    retime = asyncio.create_task(
        services.retime_batches(base_url, lambda: driver.created, len(driver.tasks), args.duration)
    )
    started = time.monotonic()
    await driver.create_all(CREATES_AT_ONCE, lambda n: n % 200 or print(f"[{label}] {n} created", flush=True))
    retime.cancel()
    drive.stretches["ramp"], driver.calls = driver.calls, Calls()
    drive.seconds["ramp"] = time.monotonic() - started
    print(f"[{label}] ramp {drive.seconds['ramp']:.0f} s; measuring {args.duration:.0f} s", flush=True)
    cpu, emulator_cpu, own_cpu = (
        services.cpu_seconds(pid),
        services.cpu_seconds(emulator_pid),
        time.process_time(),
    )
    started = time.monotonic()
    await driver.until_all_ended(args.duration)
    drive.cpu_s, drive.emulator_cpu_s = (
        services.cpu_seconds(pid) - cpu,
        services.cpu_seconds(emulator_pid) - emulator_cpu,
    )
    drive.driver_cpu_s = time.process_time() - own_cpu
    drive.stretches["window"], driver.calls = driver.calls, Calls()
    drive.seconds["window"] = time.monotonic() - started
    print(f"[{label}] draining: {driver.finished} of {len(driver.tasks)} tasks ended", flush=True)
    started = time.monotonic()
    await driver.until_all_ended(args.drain_timeout)
    drive.stretches["drain"], drive.seconds["drain"] = driver.calls, time.monotonic() - started
    drive.rss_mb = services.peak_rss_mb(pid)
    drive.load = (load_start, os.getloadavg()[0])
    polls.cancel()
    await driver.cancel_polls()


def rows(d: Drive) -> list[tuple[str, str]]:
    """Every figure of a drive, as printed."""
    w, window_s = d.window, d.seconds["window"]
    jobs = sum(t.task_type == JOB_TASK_TYPE for t in d.tasks)
    stretches = " / ".join(str(d.stretches[s].past_deadline) for s in ("ramp", "window", "drain"))
    errors = sum(sum(c.errors.values()) for c in d.stretches.values())
    lag = ms(w.start_lag.quantile(0.99))
    # Calls out at the window's end were made but not all worked on: the CPU per call is a floor then.
    at_least = ">= " if w.past_deadline else ""
    return [
        ("tasks: single-batch + job", f"{len(d.tasks) - jobs} + {jobs}"),
        (
            "GetTask calls in the window (a second), answered",
            f"{w.made} ({w.made / window_s:.0f}/s), {w.answered}",
        ),
        ("GetTask p50 / p99 ms", p50_p99(w.latency)),
        ("  single-batch p50 / p99 ms", p50_p99(w.by_type.get(TASK_TYPE))),
        ("  job p50 / p99 ms", p50_p99(w.by_type.get(JOB_TASK_TYPE))),
        ("calls past the deadline: ramp / window / drain", stretches),
        ("other GetTask errors (whole drive)", str(errors)),
        (
            "connector CPU per GetTask ms",
            "-" if d.cpu_ms_per_get is None else f"{at_least}{d.cpu_ms_per_get:.2f}",
        ),
        ("connector CPU in the window, share of a core", f"{d.cpu_s / window_s:.0%}"),
        ("connector peak RSS MB", f"{d.rss_mb:.0f}"),
        ("jobs SUCCEEDED", f"{d.succeeded} of {len(d.tasks)}"),
        ("parts with exactly one batch", f"{d.one_batch} of {d.parts} ({d.missing} none, {d.extra} extra)"),
        (
            "CreateTask p50 / p99 ms, failed calls",
            f"{p50_p99(d.driver.create_latency)}, {sum(d.driver.create_failures.values())}",
        ),
        ("ramp / window / drain s", " / ".join(f"{d.seconds[s]:.0f}" for s in ("ramp", "window", "drain"))),
        ("emulator CPU in the window, share of a core", f"{d.emulator_cpu_s / window_s:.0%}"),
        ("driver CPU share / poll start lag p99 ms", f"{d.driver_cpu_s / window_s:.0%} / {lag}"),
        ("load average (1 min) at start / end", f"{d.load[0]:.1f} / {d.load[1]:.1f}"),
    ]


TARGETS = {
    "GetTask p50 / p99 ms": f"p99 < {MAX_P99_MS:.0f}",
    "calls past the deadline: ramp / window / drain": "0",
    "connector CPU per GetTask ms": f"< {MAX_CPU_MS_PER_GET:.0f}",
    "connector peak RSS MB": f"< {MAX_RSS_MB:.0f}",
    "jobs SUCCEEDED": "all",
    "parts with exactly one batch": "all",
}


def missed(d: Drive) -> list[str]:
    """The targets a drive misses."""
    p99, cpu = d.window.latency.quantile(0.99), d.cpu_ms_per_get
    checks = {
        "connector CPU per GetTask ms": cpu is not None and cpu < MAX_CPU_MS_PER_GET,
        "GetTask p50 / p99 ms": p99 is not None and 1000 * p99 < MAX_P99_MS,
        "calls past the deadline: ramp / window / drain": d.past_deadline == 0,
        "connector peak RSS MB": d.rss_mb < MAX_RSS_MB,
        "jobs SUCCEEDED": d.succeeded == len(d.tasks),
        "parts with exactly one batch": d.one_batch == d.parts and d.extra == 0,
    }
    return [name for name, ok in checks.items() if not ok]


def _brief(text: str) -> str:
    """A long error (a traceback in the gRPC details) as its first and last lines."""
    lines = [line.strip() for line in text.splitlines() if line.strip()] or [""]
    return lines[0] if len(lines) < 2 else f"{lines[0]} ... {lines[-1]}"[:300]


def report(drives: list[Drive]) -> list[str]:
    """Print the table (a column per drive, the target beside); the first drive's misses."""
    table = [["", *(d.label for d in drives), "target"]]
    for index, (name, _) in enumerate(rows(drives[0])):
        table.append([name, *(rows(d)[index][1] for d in drives), TARGETS.get(name, "")])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for d in drives:
        print(f"{d.label}: connector {d.versions}")
        problems = [c.first_error for c in d.stretches.values() if c.first_error]
        problems += [d.driver.first_create_error] if d.driver.first_create_error else []
        problems += sorted({t.message[:200] for t in d.tasks if t.phase != TaskExecution.SUCCEEDED})[:3]
        for problem in problems:
            print(f"  e.g. {_brief(problem)}")
    misses = missed(drives[0])
    verdict = "every target met" if not misses else "MISSED: " + "; ".join(misses)
    print(f"targets, judged on {drives[0].label}: {verdict}")
    return misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000, help="single-batch tasks (default 1000)")
    parser.add_argument("--part-jobs", type=int, default=50, help=f"{PARTS}-part job tasks (default 50)")
    parser.add_argument("--cadence", type=float, default=10.0, help="seconds between a task's GetTask calls")
    parser.add_argument("--also-cadence", type=float, default=2.0, help="the drive reported beside (0: none)")
    parser.add_argument("--duration", type=float, default=180.0, help="the measured window, seconds")
    parser.add_argument(
        "--drain-timeout", type=float, default=600.0, help="longest wait for the tasks to end"
    )
    parser.add_argument("--concurrency", type=int, default=1000, help="most GetTask calls out at once")
    parser.add_argument("--upstream-venv", type=Path, help="a venv with flytekitplugins-openai==1.16.31")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"driver Python {platform.python_version()}",
        flush=True,
    )
    drives = []
    for cadence in [args.cadence, args.also_cadence] if args.also_cadence else [args.cadence]:
        drives.append(run_drive(args, f"project {cadence:g} s", cadence, None))
        if args.upstream_venv:
            drives.append(run_drive(args, f"upstream {cadence:g} s", cadence, args.upstream_venv))
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if report(drives) and args.check:
        sys.exit(1)


if __name__ == "__main__":
    main()
