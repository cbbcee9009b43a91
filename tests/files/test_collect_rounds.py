"""A job's collect step (a dynamic task) run the way a Flyte pod runs it (issue 15, issue 22).

Round 1's collect step sorts a batch's results and uploads the transient failures as the next round's
part, and writes the sub-workflow FlytePropeller runs next (futures.pb): round 2's job task on that
part and round 2's collect step. Round 2's collect step, run from the template and the inputs that
sub-workflow gives it, ends the job with the results table and the deck (outputs.pb). A re-run of a
round (a pod retried) replaces what the run before uploaded and repeats no success.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from flytekit.core.context_manager import FlyteContextManager
from flytekit.core.type_engine import TypeEngine

from flytekitplugins.openai.files import BatchResult, OpenAIFileConfig, RoundState
from openai_batch_emulator import Emulator
from openai_batch_jobs.errors import TransferError
from openai_batch_jobs.inputs.part_names import TAG, PartEstimate, estimate_of
from openai_batch_jobs.results.job_result import JobResult
from tests.files.conftest import SECRET_ENV, run_batch, run_uploaded
from tests.files.pod import PodRun, python_literal, run_in_pod
from tests.files.requests import request, write_lines
from tests.files.round_steps import collect_step, next_round, round_inputs


def run_round(task: Any, inputs: dict[str, Any], workdir: Path, emulator: Emulator) -> PodRun:
    env = {SECRET_ENV: emulator.api_key, "OPENAI_BASE_URL": emulator.base_url}
    run = run_in_pod(task, inputs, workdir, env)
    assert run.returncode == 0, run.log[-4000:]
    return run


def lines(path: str | None) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()] if path else []


def batch_files(client: Any) -> dict[str, str]:
    """The request files on the server, each name without the token tag the upload adds (`part_names`)."""
    return {
        f.id: f.filename.split(TAG)[0].removesuffix(".jsonl") + ".jsonl"
        for f in client.files.list(purpose="batch")
    }


def test_two_rounds_in_pods(tmp_path: Path, emulator: Emulator, openai_client: Any) -> None:
    emulator.configure(fail_requests=[{"custom_ids": "^flaky-", "status": 500, "attempts": 1}])
    ids = ["ok-1", "flaky-1", "ok-2", "flaky-2"]
    first = run_batch(
        openai_client, write_lines(tmp_path / "requests.jsonl", [request(0, custom_id=i) for i in ids])
    )
    round1 = collect_step(1)
    inputs = round_inputs(round1, [first])

    # A first pod that got as far as uploading the retry part, and no further (it kept the input).
    run1 = run_round(collect_step(1, delete_input_files=False), inputs, tmp_path / "pod1", emulator)
    assert "Round 1: 4 requests: 2 succeeded, 0 failed (0 missing), 2 to send again" in run1.stdout
    assert run1.outputs is None
    assert run1.futures is not None
    [first_try], _, _ = next_round(run1.futures)
    assert batch_files(openai_client) == {
        first["input_file_id"]: "requests.jsonl",
        first_try: f"openai-batch-jobs-retry-of-{first['id']}.jsonl",
    }

    # The pod is retried: the round replaces the retry part it finds, keeps the same answers, and
    # deletes round 1's input once the new retry part is up.
    rerun = run_round(round1, inputs, tmp_path / "pod1-again", emulator)
    assert rerun.futures is not None
    [retry_part], step2, state_literal = next_round(rerun.futures)
    assert retry_part != first_try
    assert batch_files(openai_client) == {retry_part: f"openai-batch-jobs-retry-of-{first['id']}.jsonl"}
    # Its name carries its token estimate (2 chat requests: the enqueued-token bound, the prompt tokens,
    # max_tokens 5 each) and model, for a budget of enqueued tokens and a cost cap.
    assert estimate_of(openai_client.files.retrieve(retry_part).filename) == PartEstimate(
        42, 12, 10, "gpt-4o-mini"
    )
    state = TypeEngine.to_python_value(FlyteContextManager.current_context(), state_literal, RoundState)
    assert [r.batches[0]["id"] for r in state.rounds] == [first["id"]]
    # What round 2 carries of the requests for the table: each one's custom_id and model, not the request.
    model = request(0)["body"]["model"]
    assert lines(state.requests.download()) == [{"custom_id": i, "body": {"model": model}} for i in ids]

    # FlytePropeller runs round 2's job (here: the batch, directly), then round 2's collect step.
    second = run_uploaded(openai_client, retry_part)
    job_result = JobResult(batches=[second], parts=1, parts_done=1)
    inputs2 = {
        "job_result": python_literal(step2, "job_result", job_result, JobResult),
        "state": state_literal,
    }
    run2 = run_round(step2, inputs2, tmp_path / "pod2", emulator)

    assert run2.futures is None
    assert "Round 2: 2 requests: 2 succeeded, 0 failed (0 missing), 0 to send again" in run2.stdout
    summary_line = next(
        line for line in run2.stdout.splitlines() if line.startswith("OpenAI batch job summary: ")
    )
    summary = json.loads(summary_line.split(": ", 1)[1])
    assert (summary["requests"], summary["succeeded"], summary["resent"]) == (4, 4, 2)
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


def test_a_round_with_nothing_to_retry_ends_the_job(
    tmp_path: Path, emulator: Emulator, openai_client: Any
) -> None:
    batch = run_batch(openai_client, write_lines(tmp_path / "requests.jsonl", [request(1), request(2)]))
    step = collect_step(1)
    run = run_round(step, round_inputs(step, [batch]), tmp_path / "pod", emulator)
    assert run.futures is None, "no round 2 when nothing is sent again"
    result = run.output("result", BatchResult)
    assert [o["attempts"] for o in lines(result.output_file.download())] == [1, 1]
    assert result.table is not None
    assert len(result.table.open(pd.DataFrame).all()) == 2


def test_a_result_file_gone_before_the_download_is_named(
    tmp_path: Path, files_config: OpenAIFileConfig, openai_client: Any
) -> None:
    batch = run_batch(openai_client, write_lines(tmp_path / "requests.jsonl", [request(1), request(2)]))
    openai_client.files.delete(batch["output_file_id"])
    step = collect_step(config=files_config)
    with pytest.raises(TransferError) as failure:
        step(job_result=JobResult(batches=[batch], parts=1, parts_done=1), state=RoundState())
    message = str(failure.value)
    assert f"Could not download the output file of part 1 (batch {batch['id']})" in message
    assert f"Looking up file {batch['output_file_id']} failed: HTTP 404" in message
