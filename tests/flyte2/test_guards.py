"""The guards of issue 24 in local Flyte 2 runs of `OpenAIBatch`, run as a user runs a script against
the emulator: the cost estimate printed before upload and `max_cost_usd` refusing the run with nothing
uploaded, expired batches' unanswered requests sent again by default, and `max_enqueued_tokens`."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest

from flyteplugins.openai_batch import OpenAIBatch
from openai_batch_emulator import Emulator
from openai_batch_jobs.errors import BatchConfigError
from openai_batch_jobs.inputs.estimate import request_tokens

from .script import run_script


def part_estimate(numbers: range) -> int:
    """The enqueued-token bound of the part of the script's requests ``numbers``, as the upload counts it."""
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": ""}]}
    total = 0
    for n in numbers:
        body["messages"] = [{"role": "user", "content": f"Say {n}"}]
        total += request_tokens("/v1/chat/completions", body).bound
    return total


def on_server(client: openai.OpenAI) -> tuple[int, int]:
    """(request files, batches) on the emulator, counted through the SDK."""
    files = [f for f in client.files.list() if f.purpose == "batch"]
    return len(files), len(client.batches.list(limit=100).data)


@pytest.mark.slow
def test_a_run_over_max_cost_usd_is_refused_before_anything_is_uploaded(
    tmp_path: Path, user_env: dict[str, str], openai_client: openai.OpenAI
) -> None:
    # 100 chat requests, no max_tokens: 4,096 output tokens assumed each, about $0.12 at most.
    done = run_script(tmp_path, user_env, "max_cost_usd=0.05", 100)
    output = done.stdout + done.stderr
    estimate = next(line for line in output.splitlines() if line.startswith("Cost estimate: "))
    refusal = next(line for line in output.splitlines() if line.startswith("RuntimeUserError: "))
    print(f"{estimate}\n{refusal}")
    assert done.returncode != 0
    assert estimate.startswith("Cost estimate: $0.000045 to $0.1229 (gpt-4o-mini) for 100 requests: ")
    assert "4,096 assumed for 100 requests that set no limit" in estimate
    assert (
        "OpenAIBatch 'guarded' refused the job before uploading it: its cost estimate is $0.000045 to "
        "$0.1229 (gpt-4o-mini), and the high figure is above max_cost_usd $0.0500. Nothing was uploaded."
    ) in refusal
    assert on_server(openai_client) == (0, 0)  # nothing uploaded, nothing billed


@pytest.mark.slow
def test_an_expired_batchs_unanswered_requests_are_sent_again_by_default(
    tmp_path: Path, user_env: dict[str, str], emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    # 10 requests a second, a 2 s window: round 1's batch of 30 expires part way; round 2 sends the rest.
    emulator.configure(requests_per_second=10, completion_window_seconds=2)
    done = run_script(tmp_path, user_env, "max_in_flight=2", 30)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULTS "))[8:])
    answered = {line["custom_id"]: line for line in found["answered"]}
    errors = {line["custom_id"]: line for line in found["errors"]}
    statuses = [b.status for b in reversed(openai_client.batches.list(limit=100).data)]
    print(f"batches: {statuses}; {len(answered)} answered, {len(errors)} in the error file")
    assert statuses[0] == "expired"
    assert len(statuses) >= 2  # a second round ran
    assert sorted({*answered, *errors}) == [f"q{n:03d}" for n in range(30)]
    assert any(line["attempts"] > 1 for line in answered.values())
    for line in errors.values():  # what the last round could not answer either
        assert line["error"]["code"] == "batch_expired", line


@pytest.mark.slow
def test_a_token_budget_holds_parts_and_no_batch_meets_the_token_limit(
    tmp_path: Path, user_env: dict[str, str], emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    # Six parts of 10 requests; a budget of two parts' bounds (the emulator's limit is the same figure,
    # in its own count, never above ours): at most two parts run at once.
    part_bound = max(part_estimate(range(p * 10, p * 10 + 10)) for p in range(6))
    budget = 2 * part_bound
    emulator.configure(requests_per_second=20, enqueued_token_limits={"gpt-4o-mini": budget})
    script_settings = f"max_in_flight=6, max_enqueued_tokens={budget}, part_limits=PartLimits(requests=10)"
    done = run_script(tmp_path, user_env, script_settings, 60)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    batches = list(reversed(openai_client.batches.list(limit=100).data))
    start = min(b.created_at for b in batches)
    for b in batches:
        print(
            f"  part {b.metadata.get('flyte_job_part')}: created +{b.created_at - start}s, "
            f"completed +{(b.completed_at or start) - start}s, {b.status}"
        )
    assert [b.status for b in batches] == ["completed"] * 6  # none failed for token_limit_exceeded
    held = [b for b in batches if any(o.completed_at and o.completed_at <= b.created_at for o in batches)]
    assert len(held) >= 2


@pytest.mark.parametrize(
    ("knob", "expected"),
    [
        ({"max_cost_usd": 0}, "max_cost_usd of OpenAIBatch('bad') must be a number of US dollars above 0"),
        ({"max_cost_usd": "5"}, "max_cost_usd of OpenAIBatch('bad') must be a number of US dollars above 0"),
        ({"max_enqueued_tokens": -5}, "max_enqueued_tokens of OpenAIBatch('bad') must be a whole number"),
        (
            {"max_enqueued_tokens": {"gpt4o-mini": 9}},
            "names model 'gpt4o-mini', which this plugin does not know",
        ),
    ],
)
def test_a_bad_knob_is_refused_where_the_job_is_declared(knob: dict[str, object], expected: str) -> None:
    with pytest.raises(BatchConfigError) as refused:
        OpenAIBatch("bad", {}, **knob)  # type: ignore[arg-type]
    assert expected in str(refused.value)
