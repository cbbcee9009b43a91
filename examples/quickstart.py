"""The quick start: one OpenAI batch, end to end, through `pyflyte run`.

With no OPENAI_API_KEY (or with OPENAI_BASE_URL set) it starts the embedded OpenAI Files + Batch
emulator, so it needs no key and costs nothing. With OPENAI_API_KEY set and no OPENAI_BASE_URL it
runs the same workflow against OpenAI (billed at Batch API prices).

    uv run --frozen python examples/quickstart.py [--workflow jsonl|iterator|embeddings]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import openai

EXAMPLES = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

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
        run = subprocess.run(command, env=env, capture_output=True, text=True, cwd=EXAMPLES.parent)
        if run.returncode:
            sys.stderr.write(run.stdout + run.stderr)
            return run.returncode
        summarize(openai.OpenAI(base_url=base_url, api_key=api_key), run.stdout)
    return 0


def summarize(client: openai.OpenAI, pyflyte_output: str) -> None:
    # The download step names its files after the batch: that is how we know which batch was ours.
    paths = sorted(set(re.findall(r"(/[^\s'\"]+\.jsonl)", pyflyte_output)))
    ids = {m.group(1) for p in paths if (m := re.search(r"(batch_\w+?)-(?:output|errors?)\.jsonl$", p))}
    if len(ids) != 1:
        print(pyflyte_output)
        raise SystemExit(f"could not tell the batch from the workflow's output files: {paths}")
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
    sys.exit(main())
