"""Rounds of request retries in the collect step, run the way a Flyte pod runs them (issue 15).

Round 1's collect sorts a batch's results and uploads the transient failures as the next round's part;
round 2's collect takes round 1's files and ends the job with the results table and the deck. A
re-run of a round (a pod retried) replaces what the run before uploaded and repeats no success.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import pandas as pd
import pytest
from flytekit import Secret
from flytekit.types.file import JSONLFile

from flytekitplugins.openai.files import BatchResult, OpenAIFileConfig
from flytekitplugins.openai.files.collect import CollectResultsTask
from openai_batch_emulator import Emulator
from openai_batch_jobs.errors import TransferError
from tests.files.conftest import SECRET_ENV, run_batch, run_uploaded
from tests.files.pod import PodRun, python_literal, run_in_pod, serialize
from tests.files.requests import request, write_lines

CONFIG = OpenAIFileConfig(Secret(group="tests", key="openai_key"))
MAYBE_FILE: Any = Optional[JSONLFile]  # noqa: UP045  (the type the round declares)
TERMINAL = ("completed", "failed", "expired", "cancelled")


def collect(attempt: int, delete_input_files: bool = True) -> CollectResultsTask:
    return CollectResultsTask(
        f"collect-round{attempt}",
        CONFIG,
        attempt=attempt,
        max_request_attempts=2,
        results_table=True,
        delete_input_files=delete_input_files,
    )


def run_round(task: CollectResultsTask, inputs: dict[str, Any], workdir: Path, emulator: Emulator) -> PodRun:
    env = {SECRET_ENV: emulator.api_key, "OPENAI_BASE_URL": emulator.base_url}
    run = run_in_pod(task, inputs, workdir, env)
    assert run.returncode == 0, run.log[-4000:]
    return run


def lines(path: str | None) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()] if path else []


def batch_files(client: Any) -> dict[str, str]:
    return {f.id: f.filename for f in client.files.list(purpose="batch")}


def test_two_rounds_in_pods(tmp_path: Path, emulator: Emulator, openai_client: Any) -> None:
    emulator.configure(fail_requests=[{"custom_ids": "^flaky-", "status": 500, "attempts": 1}])
    ids = ["ok-1", "flaky-1", "ok-2", "flaky-2"]
    first = run_batch(
        openai_client, write_lines(tmp_path / "requests.jsonl", [request(0, custom_id=i) for i in ids])
    )
    round1 = collect(1)
    template = serialize(round1)
    job_result = {"job_result": python_literal(template, "job_result", {"batches": [first]}, dict)}

    # A first pod that got as far as uploading the retry part, and no further (it kept the input).
    run1 = run_round(collect(1, delete_input_files=False), job_result, tmp_path / "pod1", emulator)
    assert "Round 1: 4 requests: 2 succeeded, 0 failed (0 missing), 2 to retry" in run1.stdout
    [first_try] = run1.output("retry_parts", list[str])
    assert batch_files(openai_client) == {
        first["input_file_id"]: "requests.jsonl",
        first_try: f"retry-of-{first['id']}.jsonl",
    }

    # The pod is retried: the round replaces the retry part it finds, keeps the same answers, and
    # deletes round 1's input once the new retry part is up.
    rerun = run_round(round1, job_result, tmp_path / "pod1-again", emulator)
    [retry_part] = rerun.output("retry_parts", list[str])
    assert retry_part != first_try
    assert batch_files(openai_client) == {retry_part: f"retry-of-{first['id']}.jsonl"}
    assert lines(rerun.output("output", MAYBE_FILE).download()) == lines(
        run1.output("output", MAYBE_FILE).download()
    )

    # What round 2 carries of the requests for the table: each one's custom_id and model, not the request.
    model = request(0)["body"]["model"]
    assert lines(rerun.output("requests", MAYBE_FILE).download()) == [
        {"custom_id": i, "body": {"model": model}} for i in ids
    ]

    second = run_uploaded(openai_client, retry_part)
    round2 = collect(2)
    template2 = serialize(round2)
    carried = {
        "previous_output": rerun.outputs.literals["output"],
        "previous_errors": rerun.outputs.literals["errors"],
        "previous_table": rerun.outputs.literals["table"],
        "requests": rerun.outputs.literals["requests"],
        "history": rerun.outputs.literals["history"],
    }
    inputs = {"job_result": python_literal(template2, "job_result", {"batches": [second]}, dict), **carried}
    run2 = run_round(round2, inputs, tmp_path / "pod2", emulator)

    assert "Round 2: 2 requests: 2 succeeded, 0 failed (0 missing), 0 to retry" in run2.stdout
    summary_line = next(
        line for line in run2.stdout.splitlines() if line.startswith("OpenAI batch job summary: ")
    )
    summary = json.loads(summary_line.split(": ", 1)[1])
    assert (summary["requests"], summary["succeeded"], summary["retried"]) == (4, 4, 2)
    result = run2.output("result", BatchResult)
    assert sorted((o["custom_id"], o["attempts"]) for o in lines(result.output_file.download())) == [
        ("flaky-1", 2),
        ("flaky-2", 2),
        ("ok-1", 1),
        ("ok-2", 1),
    ]
    assert result.table is not None
    table = result.table.open(pd.DataFrame).all()
    assert list(table["custom_id"]) == ids
    assert list(table["attempts"]) == [1, 2, 1, 2]
    # The pod wrote its deck where Flyte's console reads it, and nothing is left among the batch files.
    assert "OpenAI batch results" in (tmp_path / "pod2" / "outputs" / "deck.html").read_text()
    assert batch_files(openai_client) == {}


def test_a_result_file_gone_before_the_download_is_named(
    tmp_path: Path, files_config: OpenAIFileConfig, openai_client: Any
) -> None:
    batch = run_batch(openai_client, write_lines(tmp_path / "requests.jsonl", [request(1), request(2)]))
    openai_client.files.delete(batch["output_file_id"])
    task = CollectResultsTask("collect-gone", files_config, max_request_attempts=2)
    with pytest.raises(TransferError) as failure:
        task(job_result={"batches": [batch]})
    message = str(failure.value)
    assert f"Could not download the output file of part 1 (batch {batch['id']})" in message
    assert f"Looking up file {batch['output_file_id']} failed: HTTP 404" in message
