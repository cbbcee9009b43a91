"""Driving a job's rounds through the openai SDK against the emulator, the way the collect step does:
upload each part, create its batch, wait, download its files, sort the round, go on with the resend file."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pytest

from openai_batch_jobs.results.resend import RoundPart, RoundReport, collect_round
from tests.support.waiting import wait_until


@pytest.fixture
def emulator_settings() -> dict[str, Any]:
    """The emulator's batch lifecycle shortened: tests of rounds are about the answers, not the waits.
    A test module takes it by importing it."""
    return {
        "validating_seconds": 0.05,
        "finalizing_seconds": 0.05,
        "cancelling_seconds": 0.05,
        "requests_per_second": 20_000,
    }


TERMINAL = ("completed", "failed", "expired", "cancelled")
MODEL = "gpt-4o-mini"
# The job: of ids ending in two digits, 5% fail transiently (1% each of 429, 500, 502, 503
# once, and 1% 429 twice, so they need two retries) and 1% for good (400, the ids ending in 55).
TRANSIENT_AND_PERMANENT: list[dict[str, Any]] = [
    {"custom_ids": "00$", "status": 429, "attempts": 1},
    {"custom_ids": "20$", "status": 500, "attempts": 1},
    {"custom_ids": "40$", "status": 502, "attempts": 1},
    {"custom_ids": "60$", "status": 503, "attempts": 1},
    {"custom_ids": "80$", "status": 429, "attempts": 2},
    {"custom_ids": "55$", "status": 400},
]


def chat(custom_id: str, text: str = "hello", model: str = MODEL, **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": text}], **body},
    }


def embedding(
    custom_id: str, text: str, model: str = "text-embedding-3-small", **body: Any
) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/embeddings",
        "body": {"model": model, "input": text, **body},
    }


def write_jsonl(path: Path, lines: Iterable[dict[str, Any]]) -> Path:
    with open(path, "w", encoding="utf-8") as sink:
        for line in lines:
            sink.write(json.dumps(line) + "\n")
    return path


def read_jsonl(path: Path | str | None) -> list[dict[str, Any]]:
    if path is None:
        return []
    with open(path, encoding="utf-8") as source:
        return [json.loads(line) for line in source if line.strip()]


def wait(client: openai.OpenAI, batch_id: str, timeout: float = 120) -> dict[str, Any]:
    """Poll the batch until it is terminal (bounded by ``timeout``); the batch as the job returns it."""
    batch = wait_until(
        functools.partial(client.batches.retrieve, batch_id),
        until=lambda b: b.status in TERMINAL,
        timeout=timeout,
        what=f"batch {batch_id} to end",
    )
    return dict(batch.model_dump(mode="json"))


def run_parts(
    client: openai.OpenAI,
    inputs: Sequence[Path],
    workdir: Path,
    endpoint: str = "/v1/chat/completions",
    *,
    cancel: bool = False,
) -> tuple[list[RoundPart], list[dict[str, Any]]]:
    """Run every part as a batch (all in flight at once) and download its files: the round's parts."""
    batch_ids = []
    for path in inputs:
        with open(path, "rb") as stream:
            uploaded = client.files.create(file=stream, purpose="batch")
        created = client.batches.create(
            input_file_id=uploaded.id,
            endpoint=endpoint,  # type: ignore[arg-type]
            completion_window="24h",
        )
        if cancel:
            client.batches.cancel(created.id)
        batch_ids.append(created.id)
    parts, batches = [], []
    for path, batch_id in zip(inputs, batch_ids, strict=True):
        batch = wait(client, batch_id)
        files = {}
        for kind in ("output", "error"):
            file_id = batch.get(f"{kind}_file_id")
            if file_id:
                files[kind] = str(workdir / f"{batch_id}-{kind}.jsonl")
                client.files.content(file_id).write_to_file(files[kind])
        parts.append(RoundPart(str(path), batch, files.get("output"), files.get("error")))
        batches.append(batch)
    return parts, batches


@dataclass
class Job:
    """The files and reports of a job run round by round."""

    output: Path | None = None
    errors: Path | None = None
    reports: list[RoundReport] = field(default_factory=list)
    rounds: list[list[dict[str, Any]]] = field(default_factory=list)  # each round's batches
    starts: list[tuple[int, int]] = field(default_factory=list)  # where each round's lines begin


def run_job(
    client: openai.OpenAI,
    parts: Sequence[Path],
    workdir: Path,
    *,
    max_request_attempts: int = 3,
    endpoint: str = "/v1/chat/completions",
) -> Job:
    """Rounds until nothing is left to send again (or the attempts are spent), as the collect steps run them, each adding the next."""
    job = Job()
    inputs = list(parts)
    for attempt in range(1, max_request_attempts + 1):
        if not inputs:
            break  # a round with no parts finishes at once
        round_parts, batches = run_parts(client, inputs, workdir, endpoint)
        output, errors, retry = (
            workdir / f"round-{attempt}-{kind}.jsonl" for kind in ("output", "error", "retry")
        )
        report = collect_round(
            round_parts,
            attempt=attempt,
            max_request_attempts=max_request_attempts,
            output_path=str(output),
            error_path=str(errors),
            resend_path=str(retry),
            previous_output=str(job.output) if job.output else None,
            previous_errors=str(job.errors) if job.errors else None,
        )
        job.output, job.errors = output, errors
        job.reports.append(report)
        job.starts.append((report.output_start, report.error_start))
        job.rounds.append(batches)
        inputs = [retry] if report.resent else []
    return job
