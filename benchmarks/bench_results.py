"""Benchmark of a job's results: sorting a round (resend.collect_round) and writing the results
table with its summary (job_report.summarize_job), as a job's last step does.

    ./uvw run --frozen python benchmarks/bench_results.py [--requests 1000000] [--check]

Writes the job's request files (parts of 50,000) and result files shaped as the Batch API writes them
(answers with usage; 5% of the requests fail with 429, 1% with 400; results in an order of their own),
then runs each phase in a fresh child process: the round sorts the parts into the job's files and
writes the requests' keys (round 1 of a job with results_table on), the table reads the keys and the
sorted files (the job's last step). Each phase prints its wall time, its CPU time (user + system, every
thread), its rate in rows per CPU second and its peak RSS growth (ru_maxrss at the end minus after
the imports), each beside its target. The rate is per CPU second so that a loaded machine (other
processes taking turns on the cores) does not move it; wall time is shown beside it.
``--check`` exits 1 when a target is missed. ``--quick`` (``--requests 100000``) is the run CI makes:
same targets.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAX_RSS_GROWTH_MB = 100.0
# Rows per CPU second, per phase: the table's from issue 27; the round's sort has no target (shown only).
MIN_ROWS_PER_CPU_SECOND = {"table": 200_000}
PART = 50_000


def make_files(directory: Path, requests: int) -> list[dict[str, str]]:
    """Request, output and error files of each part; the results of a part come back shuffled."""
    parts = []
    rng = random.Random(7)
    for start in range(0, requests, PART):
        n = len(parts)
        paths = {k: str(directory / f"part-{n}-{k}.jsonl") for k in ("input", "output", "error")}
        ids = [f"req-{i:07d}" for i in range(start, min(start + PART, requests))]
        with open(paths["input"], "w") as sink:
            for c in ids:
                body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Say {c}"}]}
                sink.write(
                    json.dumps(
                        {"custom_id": c, "method": "POST", "url": "/v1/chat/completions", "body": body}
                    )
                    + "\n"
                )
        rng.shuffle(ids)
        with open(paths["output"], "w") as output, open(paths["error"], "w") as error:
            for c in ids:
                number = int(c[4:])
                status = 429 if number % 20 == 0 else 400 if number % 100 == 55 else 200
                if status == 200:
                    body = {
                        "id": "chatcmpl-x",
                        "object": "chat.completion",
                        "model": "gpt-4o-mini",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": f"Echo: Say {c}"},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12},
                    }
                    sink = output
                else:
                    body = {
                        "error": {
                            "message": "injected",
                            "type": "invalid_request_error",
                            "param": None,
                            "code": None,
                        }
                    }
                    sink = error
                line = {
                    "id": f"batch_req_{number}",
                    "custom_id": c,
                    "response": {"status_code": status, "request_id": "req_x", "body": body},
                    "error": None,
                }
                sink.write(json.dumps(line) + "\n")
        parts.append(paths)
    return parts


def phase(name: str, directory: Path) -> None:
    """Run one phase (imports first, then measure) and print its figures as JSON."""
    # Imported before measuring: their imports are not the phase's work.
    from openai_batch_jobs.report.job_report import summarize_job
    from openai_batch_jobs.results.resend import RoundPart, collect_round

    parts = json.loads((directory / "parts.json").read_text())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu_started = time.perf_counter(), time.process_time()
    if name == "round":
        report = collect_round(
            [
                RoundPart(p["input"], {"id": f"batch_{i}", "status": "completed"}, p["output"], p["error"])
                for i, p in enumerate(parts)
            ],
            attempt=1,
            output_path=str(directory / "out.jsonl"),
            error_path=str(directory / "err.jsonl"),
            resend_path=str(directory / "retry.jsonl"),
            keys_path=str(directory / "keys.jsonl"),
        )
        rows = report.requests
        detail = {"succeeded": report.succeeded, "failed": report.failed, "resent": report.resent}
    else:
        results = summarize_job(
            [str(directory / "keys.jsonl")],
            str(directory / "out.jsonl"),
            str(directory / "err.jsonl"),
            table_directory=str(directory / "table"),
        )
        rows = results.table.rows
        detail = {"succeeded": results.summary["succeeded"], "failed": results.summary["failed"]}
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    figures = {"phase": name, "rows": rows, "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2)}
    figures.update(rows_per_cpu_second=round(rows / max(cpu, 1e-9)), rss_growth_mb=round(growth, 1))
    print(json.dumps({**figures, **detail}))


def report(figures: dict[str, object]) -> bool:
    """Print a phase's figures beside their targets; True when one is missed."""
    name = str(figures["phase"])
    rate, growth = int(str(figures["rows_per_cpu_second"])), float(str(figures["rss_growth_mb"]))
    target = MIN_ROWS_PER_CPU_SECOND.get(name)
    rate_ok = target is None or rate >= target
    rate_target = "no target" if target is None else f"target >= {target:,}: {'ok' if rate_ok else 'MISSED'}"
    growth_ok = growth < MAX_RSS_GROWTH_MB
    print(
        f"{name}: {figures['rows']:,} rows in {figures['seconds']} s wall, {figures['cpu_seconds']} s CPU; "
        f"{rate:,} rows per CPU second ({rate_target}); peak RSS growth {growth} MB (target < {MAX_RSS_GROWTH_MB:.0f}: "
        f"{'ok' if growth_ok else 'MISSED'})"
    )
    print(f"  {json.dumps(figures)}")
    return not (rate_ok and growth_ok)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="CI's run: --requests 100000")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phase(args.phase, Path(args.dir))
        return 0
    if args.quick:
        args.requests = 100_000
    directory = Path(tempfile.mkdtemp(prefix="bench-results-"))
    try:
        started = time.perf_counter()
        parts = make_files(directory, args.requests)
        (directory / "parts.json").write_text(json.dumps(parts))
        print(
            f"{args.requests:,} requests in {len(parts)} parts written in {time.perf_counter() - started:.1f} s"
        )
        missed = False
        for name in ("round", "table"):
            out = (
                subprocess.run(
                    [sys.executable, __file__, "--phase", name, "--dir", str(directory)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            missed |= report(json.loads(out))
        print(f"load average (1, 5, 15 min): {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
        return 1 if args.check and missed else 0
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
