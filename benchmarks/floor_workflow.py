"""The floor of any flytekit plugin on bench_batch.py: the bare SDK's work in create_batch's shape.

Three plain `@task`s in a workflow, run locally by flytekit as `create_batch` is: upload the file,
create the batch and poll it every 50 ms, download the results, each with the bare `openai` SDK (no
validation, no accounting, no connector). What this costs above the `sdk` contender is flytekit's:
its import, building the workflow, and the local executor's per-task work (literal conversions,
sandbox directories, copying file outputs). No plugin run as a flytekit workflow can be cheaper.
"""

from __future__ import annotations

import os
import time

import openai
from flytekit import task, workflow
from flytekit.types.file import FlyteFile, JSONLFile

ENDPOINT = "/v1/chat/completions"
POLL_S = 0.05
TERMINAL = ("completed", "failed", "expired", "cancelled")


def _client() -> openai.OpenAI:
    return openai.OpenAI()  # OPENAI_BASE_URL and OPENAI_API_KEY, as the benchmark sets them


@task
def upload(jsonl_in: JSONLFile) -> str:
    path = jsonl_in.download()
    with _client() as client, open(path, "rb") as stream:
        return client.files.create(
            file=(os.path.basename(path), stream, "application/jsonl"), purpose="batch"
        ).id


@task
def run_batch(file_id: str) -> str:
    with _client() as client:
        batch = client.batches.create(input_file_id=file_id, endpoint=ENDPOINT, completion_window="24h")
        while batch.status not in TERMINAL:
            time.sleep(POLL_S)
            batch = client.batches.retrieve(batch.id)
    return batch.output_file_id or ""


@task
def download(file_id: str) -> FlyteFile:
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"{file_id}.jsonl")
    with (
        _client() as client,
        client.files.with_streaming_response.content(file_id) as response,
        open(path, "wb") as sink,
    ):
        for chunk in response.iter_bytes(1 << 20):
            sink.write(chunk)
    return FlyteFile(path)


@workflow
def floor(jsonl_in: JSONLFile) -> FlyteFile:
    return download(file_id=run_batch(file_id=upload(jsonl_in=jsonl_in)))
