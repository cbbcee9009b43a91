"""The quick start: one OpenAI batch, end to end, through `pyflyte run`.

With no OPENAI_API_KEY (or with OPENAI_BASE_URL set) it starts the embedded OpenAI Files + Batch
emulator, so it needs no key and costs nothing. With OPENAI_API_KEY set and no OPENAI_BASE_URL it
runs the same workflow against OpenAI (billed at Batch API prices).

    ./uvw run --frozen python examples/quickstart.py [--workflow jsonl|iterator|embeddings]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import openai

EXAMPLES = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
# How long Ctrl-C waits for pyflyte to cancel the batch (the connector's own cancel gives up after ~8 s).
CANCEL_WAIT_S = 60.0
# The exit code of a program stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130

# workflow key -> (file, entity, extra pyflyte run arguments)
WORKFLOWS = {
    "jsonl": (
        "jsonl_file_workflow.py",
        "jsonl_file_batch",
        ["--jsonl_in", str(EXAMPLES / "data/chat_requests.jsonl")],
    ),
    "iterator": ("iterator_workflow.py", "ask", []),
    "embeddings": (
        "embeddings_workflow.py",
        "embeddings_batch",
        ["--jsonl_in", str(EXAMPLES / "data/embedding_requests.jsonl")],
    ),
}


@contextmanager
def target() -> Iterator[tuple[str | None, str]]:
    """Yield (base_url, api_key): OpenAI's when a key is set without a base URL, else an emulator's."""
    key, base_url = os.environ.get("OPENAI_API_KEY"), os.environ.get("OPENAI_BASE_URL")
    if key and not base_url:
        print("Target: OpenAI (OPENAI_API_KEY is set and OPENAI_BASE_URL is not)")
        yield None, key
        return
    if base_url:
        print(f"Target: {base_url}")
        yield base_url, key or "sk-emulator"
        return
    with tempfile.TemporaryDirectory(prefix="openai-batch-emulator-") as data_dir:
        server = subprocess.Popen(
            [
                str(BIN / "openai-batch-emulator"),
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--data-dir",
                data_dir,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            # Out of the terminal's reach: on Ctrl-C it must keep serving until pyflyte has cancelled.
            start_new_session=True,
        )
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            if not url.startswith("http"):
                raise SystemExit(f"the emulator did not start (it printed {url!r})")
            print(f"Target: the embedded emulator at {url}")
            yield url, "sk-emulator-quickstart"
        finally:
            server.terminate()
            server.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workflow", choices=sorted(WORKFLOWS), default="jsonl")
    args = parser.parse_args()
    file, entity, extra = WORKFLOWS[args.workflow]

    with target() as (base_url, api_key):
        env = {**os.environ, "_FSEC_OPENAI_API_KEY": api_key, "FLYTE_OPENAI_API_KEY": api_key}
        if base_url:
            env["OPENAI_BASE_URL"] = base_url
        command = [str(BIN / "pyflyte"), "run", str(EXAMPLES / file), entity, *extra]
        print("$ pyflyte run", " ".join(command[2:]).replace(str(EXAMPLES.parent) + "/", ""), flush=True)
        client = openai.OpenAI(base_url=base_url, api_key=api_key)
        returncode, stdout, stderr, interrupted = run_pyflyte(command, env)
        if interrupted:
            report_interrupt(client, returncode, stderr)
            return INTERRUPTED
        if returncode:
            sys.stderr.write(stdout + stderr)
            return returncode
        summarize(client, stdout, stderr)
    return 0


def run_pyflyte(command: list[str], env: dict[str, str]) -> tuple[int | None, str, str, bool]:
    """Run pyflyte to the end: (exit code, or None if it outlived CANCEL_WAIT_S after Ctrl-C; stdout; stderr;
    whether it was interrupted).

    pyflyte runs in a session of its own, so a Ctrl-C in the terminal reaches only this script, which
    forwards exactly one SIGINT: pyflyte's handler then cancels the batch before it exits (a second
    SIGINT would interrupt that handler and cut the cancel short).
    """
    child = subprocess.Popen(
        command,
        env=env,
        cwd=EXAMPLES.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    interrupted_at: list[float] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        if interrupted_at:
            print("Still waiting for pyflyte to cancel its batch.", file=sys.stderr, flush=True)
            return
        interrupted_at.append(time.monotonic())
        child.send_signal(signal.SIGINT)
        print(
            f"\nInterrupted: stopping pyflyte, which cancels its batch if one is running "
            f"(waiting up to {CANCEL_WAIT_S:.0f} s)...",
            file=sys.stderr,
            flush=True,
        )

    previous = signal.signal(signal.SIGINT, forward)
    try:
        while True:
            try:
                stdout, stderr = child.communicate(timeout=0.5)
                return child.returncode, stdout, stderr, bool(interrupted_at)
            except subprocess.TimeoutExpired:
                if interrupted_at and time.monotonic() - interrupted_at[0] > CANCEL_WAIT_S:
                    os.killpg(child.pid, signal.SIGKILL)
                    stdout, stderr = child.communicate()
                    return None, stdout, stderr, True
    finally:
        signal.signal(signal.SIGINT, previous)


def report_interrupt(client: openai.OpenAI, returncode: int | None, pyflyte_stderr: str) -> None:
    """Say what became of the batch after Ctrl-C, asking the server rather than trusting the log alone."""
    # The run's last line says what it cancelled (openai_batch_jobs.interrupts).
    notes = re.findall(r"^SIG\w+: stopped .*$", pyflyte_stderr, flags=re.MULTILINE)
    for note in notes:
        print(note, file=sys.stderr)
    if returncode is None:
        print(
            f"pyflyte did not finish within {CANCEL_WAIT_S:.0f} s of Ctrl-C and was stopped; "
            "its batch, if it had one, may still be running.",
            file=sys.stderr,
        )
    ids = re.findall(r"\b(batch_\w+)", "\n".join(notes))
    if not ids and returncode is not None:
        print("No batch was running, so there was nothing to cancel.", file=sys.stderr)
    # A short leash: the user asked to stop, and the server may be what is failing.
    client = client.with_options(timeout=10, max_retries=1)
    for batch_id in ids:
        status: str
        try:
            status = client.batches.retrieve(batch_id).status
        except openai.OpenAIError as exc:
            status = f"unknown ({type(exc).__name__})"
        print(f"Batch {batch_id}: {status}", file=sys.stderr)


def summarize(client: openai.OpenAI, pyflyte_stdout: str, pyflyte_stderr: str) -> None:
    # The collect step names each part's batch ("Round 1, part 1 (batch batch_..., completed): ..."):
    # that is how we know which batch was ours.
    paths = sorted(set(re.findall(r"(/[^\s'\"]+\.jsonl)", pyflyte_stdout)))
    ids = set(re.findall(r"^Round 1, part \d+ \(batch (batch_\w+),", pyflyte_stdout, re.MULTILINE))
    # pyflyte prints the workflow's BatchResult last, on stdout; the collect task says where the deck is
    # on stderr, with the other lines meant for the user.
    tables = re.findall(r"table=StructuredDataset\(uri='([^']+)'", pyflyte_stdout)
    decks = re.findall(r"results deck: (file://\S+)", pyflyte_stderr)
    if len(ids) != 1:
        print(pyflyte_stdout)
        raise SystemExit(f"could not tell the batch from the workflow's output: {sorted(ids)}")
    batch = client.batches.retrieve(ids.pop())
    counts = batch.request_counts
    print(f"\nBatch {batch.id}: {batch.status} (endpoint {batch.endpoint})")
    if counts:
        print(f"Requests: {counts.total} total, {counts.completed} completed, {counts.failed} failed")
    if batch.output_file_id:
        print("A few answers:")
        lines = client.files.content(batch.output_file_id).text.splitlines()
        for line in lines[:3]:
            print(f"  {answer(json.loads(line))}")
    print("Result files:")
    for path in paths:
        print(f"  {path}")
    for table in tables:
        print(f"The results table (Parquet, one row per request; pandas.read_parquet reads it): {table}")
    for deck in decks:
        print(f"The deck (counts, failures, tokens, cost): {deck}")


def answer(line: dict) -> str:
    body = (line.get("response") or {}).get("body") or {}
    if "choices" in body:
        text = body["choices"][0]["message"]["content"]
    elif "data" in body:
        vector = body["data"][0]["embedding"]
        text = f"embedding of {len(vector)} dimensions [{vector[0]:.4f}, {vector[1]:.4f}, ...]"
    else:
        text = json.dumps(body)[:100]
    return f"{line['custom_id']}: {text}"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # Ctrl-C outside the pyflyte run (starting the emulator, printing the summary): nothing to cancel.
        print("\nInterrupted.", file=sys.stderr)
        sys.exit(INTERRUPTED)
