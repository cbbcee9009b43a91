"""Guards before money is spent, in local runs of create_batch against the emulator (issue 24, items 2, 3
and 7): the upload step's cost estimate and `max_cost_usd`, the budget of enqueued tokens, bad knobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flytekit.types.file import JSONLFile

from flytekitplugins.openai import create_batch
from flytekitplugins.openai.batch import BatchJobTask
from openai_batch_emulator import Emulator
from openai_batch_jobs.errors import BatchConfigError, OpenAIBatchError
from openai_batch_jobs.inputs.part_names import estimate_of

from .conftest import SECRET
from .test_request_retries import read_jsonl, write_requests


def on_server(emulator: Emulator) -> tuple[int, int]:
    """(request files, batches) on the emulator, counted through the SDK."""
    with emulator.client() as client:
        files = [f for f in client.files.list() if f.purpose == "batch"]
        return len(files), len(client.batches.list(limit=100).data)


@pytest.mark.slow
def test_a_job_over_max_cost_usd_is_refused_before_anything_is_uploaded(
    local_env: dict[str, str], emulator: Emulator, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = str(write_requests(tmp_path / "requests.jsonl", [f"req-{i}" for i in range(1000)]))
    # No max_tokens: 4,096 output tokens each at gpt-4o-mini's $0.30 a million, about $1.23 at most; 8 prompt tokens each (4 for the text, 4 for the message).
    capped = create_batch(name="capped", secret=SECRET, is_json_iterator=False, max_cost_usd=0.5)
    with pytest.raises(OpenAIBatchError, match="refused the job before uploading it") as refused:
        capped(jsonl_in=JSONLFile(path))
    message = str(refused.value)
    print(message)
    assert "its cost estimate is $0.000600 to $1.2294 (gpt-4o-mini)" in message
    assert "above max_cost_usd $0.5000" in message
    assert on_server(emulator) == (0, 0)  # nothing uploaded, nothing billed
    estimate = [line for line in capfd.readouterr().err.splitlines() if line.startswith("Cost estimate:")]
    print(estimate[0])
    assert estimate[0].startswith("Cost estimate: $0.000600 to $1.2294 (gpt-4o-mini) for 1,000 requests: ")
    assert "characters / 4, rounded up, per text, plus 4 per chat message" in estimate[0]
    assert "4,096 assumed for 1,000 requests that set no limit" in estimate[0]


@pytest.mark.slow
def test_an_unpriced_model_is_refused_under_a_cap_unless_prices_names_it(
    local_env: dict[str, str], emulator: Emulator, tmp_path: Path
) -> None:
    emulator.configure(known_models="^(gpt-|my-model)")
    path = tmp_path / "requests.jsonl"
    path.write_text(
        "".join(
            f'{{"custom_id": "r{i}", "method": "POST", "url": "/v1/chat/completions", "body": '
            f'{{"model": "my-model", "max_tokens": 10, "messages": [{{"role": "user", "content": "hi"}}]}}}}\n'
            for i in range(3)
        )
    )
    capped = create_batch(name="unpriced", secret=SECRET, is_json_iterator=False, max_cost_usd=1)
    with pytest.raises(OpenAIBatchError, match="no Batch price is known for model 'my-model'"):
        capped(jsonl_in=JSONLFile(str(path)))
    assert on_server(emulator) == (0, 0)
    priced = create_batch(
        name="priced", secret=SECRET, is_json_iterator=False, max_cost_usd=1, prices={"my-model": [1, 2]}
    )
    result = priced(jsonl_in=JSONLFile(str(path)))
    assert len(read_jsonl(result.output_file)) == 3


BAD_KNOBS: list[tuple[dict[str, Any], str]] = [
    ({"max_cost_usd": -1}, "max_cost_usd of {where} must be a number of US dollars above 0"),
    ({"max_cost_usd": 0}, "max_cost_usd of {where} must be a number of US dollars above 0"),
    ({"max_cost_usd": "5"}, "max_cost_usd of {where} must be a number of US dollars above 0"),
    ({"max_enqueued_tokens": -5}, "max_enqueued_tokens of {where} must be a whole number of tokens above 0"),
    ({"max_enqueued_tokens": 0}, "max_enqueued_tokens of {where} must be a whole number of tokens above 0"),
    ({"max_enqueued_tokens": "lots"}, "max_enqueued_tokens of {where} must be a whole number of tokens"),
    ({"max_enqueued_tokens": 2.5}, "max_enqueued_tokens of {where} must be a whole number of tokens"),
    ({"max_enqueued_tokens": {"gpt-4o-mini": 0}}, "got 0 for 'gpt-4o-mini'"),
    (
        {"max_enqueued_tokens": {"gpt4o-mini": 1000}},
        "names model 'gpt4o-mini', which this plugin does not know",
    ),
]


@pytest.mark.parametrize(("knob", "expected"), BAD_KNOBS)
def test_a_bad_knob_is_refused_when_the_workflow_is_declared_naming_it(
    knob: dict[str, Any], expected: str
) -> None:
    with pytest.raises(BatchConfigError) as refused:
        create_batch(name="bad", secret=SECRET, **knob)
    assert expected.format(where="create_batch('bad')") in str(refused.value)


@pytest.mark.parametrize(("knob", "expected"), BAD_KNOBS)
def test_a_bad_knob_is_refused_when_the_job_task_is_declared(knob: dict[str, Any], expected: str) -> None:
    with pytest.raises(BatchConfigError) as refused:
        BatchJobTask(name="job", config={}, **knob)
    assert expected.format(where="BatchJobTask 'job'") in str(refused.value)


def test_a_budget_may_name_a_model_prices_gives() -> None:
    wf = create_batch(
        name="named",
        secret=SECRET,
        max_enqueued_tokens={"my-model": 1000, "*": 50},
        prices={"my-model": [1, 2]},
    )
    assert wf.name == "openai-batch-named"


@pytest.mark.slow
def test_a_token_budget_holds_parts_and_no_batch_meets_the_token_limit_in_a_local_run(
    local_env: dict[str, str], emulator: Emulator, tmp_path: Path
) -> None:
    ids = [f"req-{i:03d}" for i in range(60)]
    path = str(write_requests(tmp_path / "requests.jsonl", ids))
    # Six parts of 10; each part's bound is the same, so a budget of two parts' bounds runs two at once.
    part_bound = 10 * (len(b"question req-000") + 1 + 8 + len("user") + 3)
    budget = 2 * part_bound
    emulator.configure(requests_per_second=20, enqueued_token_limits={"gpt-4o-mini": budget})
    wf = create_batch(
        name="budget",
        secret=SECRET,
        is_json_iterator=False,
        max_requests=10,
        max_enqueued_tokens=budget,
        delete_input_files=False,
    )
    result = wf(jsonl_in=JSONLFile(path))
    assert len(read_jsonl(result.output_file)) == 60
    with emulator.client() as client:
        batches = list(reversed(client.batches.list(limit=100).data))
        bounds = {b.id: estimate_of(client.files.retrieve(b.input_file_id).filename) for b in batches}
    print_timeline(batches, budget)
    assert len(batches) == 6
    assert [b.status for b in batches] == ["completed"] * 6  # none failed for token_limit_exceeded
    assert {e.bound for e in bounds.values() if e} == {part_bound}
    # Never more than the budget in flight; at least two parts started only after another had ended.
    for batch in batches:
        running = [b for b in batches if b.created_at <= batch.created_at < (b.completed_at or 0)]
        assert sum(bounds[b.id].bound for b in running) <= budget, batch.id  # type: ignore[union-attr]
    held = [b for b in batches if any(o.completed_at and o.completed_at <= b.created_at for o in batches)]
    assert len(held) >= 2


def print_timeline(batches: list[Any], budget: int) -> None:
    start = min(b.created_at for b in batches)
    print(f"\nper-part timeline (seconds from the first batch; budget {budget:,} tokens):")
    for batch in batches:
        part = batch.metadata.get("flyte_job_part")
        print(
            f"  part {part}: {batch.id} created +{batch.created_at - start}s, "
            f"completed +{(batch.completed_at or start) - start}s, {batch.status}"
        )
