"""Benchmark of the files plugin on a full-size Batch request file (50,000 requests, ~200 MB).

Prints validation throughput, upload and download time, and the peak RSS growth of the process doing
each phase. Every phase runs in a fresh child process, measured from after its imports, so the figures
are the phase's own; the emulator serving the upload and download runs in a process of its own too.

    ./uvw run --frozen python benchmarks/bench_files.py [--requests 50000] [--megabytes 200] [--check]

Targets (from the developers' guide): validation >= 150 MB/s; peak RSS growth < 100 MB per phase,
whatever the file size. ``--check`` exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MIN_VALIDATION_MB_S = 150.0
MAX_RSS_GROWTH_MB = 100.0
API_KEY_ENV = "BENCH_OPENAI_API_KEY"


def make_request_file(path: Path, requests: int, megabytes: float) -> int:
    """Write requests of roughly equal size adding up to ``megabytes`` (10^6 bytes), streaming."""
    rng = random.Random(1234)
    alphabet = string.ascii_letters + string.digits + "      .,"
    per_line = int(megabytes * 1_000_000 / requests)
    words = "".join(rng.choices(alphabet, k=1 << 16))
    with open(path, "w", encoding="utf-8") as f:
        for i in range(requests):
            head = {
                "custom_id": f"request-{i:06d}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {
                    "model": "gpt-4o-mini",
                    "max_tokens": 64,
                    "messages": [
                        {"role": "system", "content": "Summarise the text."},
                        {"role": "user", "content": ""},
                    ],
                },
            }
            overhead = len(json.dumps(head)) + 1
            start = rng.randrange(0, len(words) - per_line)
            head["body"]["messages"][1]["content"] = words[start : start + max(0, per_line - overhead)]
            f.write(json.dumps(head) + "\n")
    return path.stat().st_size


def _peak_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_phase(args: argparse.Namespace) -> dict[str, Any]:
    """Child side: do one phase and report its time and peak RSS growth as one JSON line."""
    from openai_batch_jobs.api.client import make_client
    from openai_batch_jobs.files.download import download_file
    from openai_batch_jobs.files.uploads import upload_request_file
    from openai_batch_jobs.inputs.limits import PartLimits
    from openai_batch_jobs.inputs.validation import DEFAULT_MAX_BYTES, validate_request_file

    client = None
    if args.phase != "validate":
        client = make_client(os.environ[API_KEY_ENV], base_url=args.base_url)
        client.files.list()  # connect and load the SDK's lazy parts before the baseline
    baseline = _peak_mb()
    start = time.perf_counter()
    report: dict[str, Any] = {"phase": args.phase}
    if args.phase == "validate":
        # Limits lifted so an oversize file (run on purpose, to show memory stays flat) is measured too.
        limits = PartLimits(requests=10**9, bytes=max(DEFAULT_MAX_BYTES, os.path.getsize(args.file)))
        summary = validate_request_file(args.file, limits)
        report["requests"] = summary.requests
    elif args.phase == "upload":
        report["file_id"] = upload_request_file(client, args.file)
    else:
        report["bytes"] = download_file(client, args.file_id, Path(args.dest))
    report["seconds"] = time.perf_counter() - start
    report["rss_growth_mb"] = _peak_mb() - baseline
    return report


def child(phase: str, env: dict[str, str], **options: str) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--phase", phase]
    for name, value in options.items():
        argv += [f"--{name.replace('_', '-')}", value]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--megabytes", type=float, default=200.0, help="file size in MB (10^6 bytes)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--phase", choices=["validate", "upload", "download"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--file-id", help=argparse.SUPPRESS)
    parser.add_argument("--dest", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args)))
        return 0

    work = Path(tempfile.mkdtemp(prefix="bench-files-"))
    emulator = None
    try:
        path = work / "requests.jsonl"
        start = time.perf_counter()
        size = make_request_file(path, args.requests, args.megabytes)
        print(
            f"file: {args.requests:,} requests, {size / 1e6:.1f} MB (written in {time.perf_counter() - start:.1f} s)"
        )

        api_key = "sk-bench-" + "".join(random.choices(string.ascii_lowercase, k=16))
        # The emulator's limits are raised only when the file is made larger than OpenAI's on purpose.
        emulator = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("openai-batch-emulator")),
                "--data-dir", str(work / "emulator"),
                "--api-key", api_key,
                "--max-input-bytes", str(max(size, 200 * 1024 * 1024)),
                "--max-upload-bytes", str(max(size, 512 * 1024 * 1024)),
                "--max-requests", str(max(args.requests, 50_000)),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert emulator.stdout is not None
        base_url = emulator.stdout.readline().strip()
        env = {**os.environ, API_KEY_ENV: api_key}

        results = {}
        results["validate"] = child("validate", env, file=str(path))
        results["upload"] = child("upload", env, file=str(path), base_url=base_url)
        dest = work / "downloaded.jsonl"
        results["download"] = child(
            "download", env, file_id=results["upload"]["file_id"], dest=str(dest), base_url=base_url
        )
        assert dest.stat().st_size == size, "downloaded file differs in size"

        rate = size / 1e6 / results["validate"]["seconds"]
        print(f"validation: {results['validate']['seconds']:.2f} s, {rate:.0f} MB/s")
        print(f"upload: {results['upload']['seconds']:.2f} s")
        print(f"download: {results['download']['seconds']:.2f} s")
        for phase, result in results.items():
            print(f"peak RSS growth, {phase}: {result['rss_growth_mb']:.1f} MB")

        missed = []
        if rate < MIN_VALIDATION_MB_S:
            missed.append(f"validation {rate:.0f} MB/s < {MIN_VALIDATION_MB_S:.0f} MB/s")
        missed += [
            f"{phase} RSS growth {r['rss_growth_mb']:.0f} MB >= {MAX_RSS_GROWTH_MB:.0f} MB"
            for phase, r in results.items()
            if r["rss_growth_mb"] >= MAX_RSS_GROWTH_MB
        ]
        print("targets: " + ("met" if not missed else "MISSED: " + "; ".join(missed)))
        return 1 if missed and args.check else 0
    finally:
        if emulator is not None:
            emulator.terminate()
            emulator.wait(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
