"""create_batch sends transiently failed requests again, writes the results table and publishes the deck,
in a real local run against the emulator (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from flytekit.core.base_task import Task
from flytekit.types.file import JSONLFile
from PIL import Image

from flytekitplugins.openai import BatchResult, create_batch
from openai_batch_emulator import Emulator
from tests.support.browser import require_browser, screenshot, shown_text
from tests.support.rounds import TRANSIENT_AND_PERMANENT

from .conftest import SECRET

pytestmark = pytest.mark.slow

MODEL = "gpt-4o-mini"


def chat(custom_id: str) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": MODEL, "messages": [{"role": "user", "content": f"question {custom_id}"}]},
    }


def write_requests(path: Path, ids: list[str]) -> Path:
    path.write_text("".join(json.dumps(chat(i)) + "\n" for i in ids))
    return path


def read_jsonl(file: JSONLFile | None) -> list[dict[str, Any]]:
    if file is None:
        return []
    return [json.loads(line) for line in Path(file.path).read_text().splitlines()]


def batch_files(emulator: Emulator) -> list[str]:
    with emulator.client() as client:
        return [f.id for f in client.files.list() if f.purpose == "batch"]


def batches(emulator: Emulator) -> int:
    with emulator.client() as client:
        return len(client.batches.list(limit=100).data)


@pytest.fixture
def executed_tasks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the tasks a local run executes, in order: flytekit's local execution of each task
    (the workflow's nodes and what a dynamic task adds) is watched, and runs as it would."""
    executed: list[str] = []
    local_execute = Task.local_execute

    def watched(task: Task, ctx: Any, **kwargs: Any) -> Any:
        executed.append(task.name)
        return local_execute(task, ctx, **kwargs)

    monkeypatch.setattr(Task, "local_execute", watched)
    return executed


def deck_page(result: BatchResult) -> Path:
    """The deck page a local run writes beside the job's files (and names on stderr)."""
    assert result.output_file is not None
    page = Path(result.output_file.path).parent / "deck.html"
    assert page.exists(), f"no deck page beside {result.output_file.path}"
    return page


def test_ten_thousand_requests_with_transient_and_permanent_failures(
    emulator: Emulator, local_env: dict[str, str], tmp_path: Path
) -> None:
    # 5% transient (1% each of 429, 500, 502, 503 once, and 1% 429 twice), 1% permanent (400).
    emulator.configure(fail_requests=TRANSIENT_AND_PERMANENT)
    ids = [f"req-{i:05d}" for i in range(10_000)]
    path = write_requests(tmp_path / "requests.jsonl", ids)
    wf = create_batch(name="retries", secret=SECRET, is_json_iterator=False, max_requests=5_000)

    result = wf(jsonl_in=JSONLFile(str(path)))

    assert isinstance(result, BatchResult)
    output, errors = read_jsonl(result.output_file), read_jsonl(result.error_file)
    permanent = {i for i in ids if i.endswith("55")}
    assert {e["custom_id"] for e in errors} == permanent
    assert {e["attempts"] for e in errors} == {1}
    assert sorted(o["custom_id"] for o in output) == sorted(set(ids) - permanent)  # each success once
    attempts = {o["custom_id"]: o["attempts"] for o in output}
    assert (attempts["req-00000"], attempts["req-00080"], attempts["req-00001"]) == (2, 3, 1)

    assert result.table is not None
    table = result.table.open(pd.DataFrame).all()
    assert table.shape[0] == 10_000
    assert list(table["custom_id"]) == ids  # input order
    assert table["status"].value_counts().to_dict() == {"succeeded": 9_900, "failed": 100}
    assert table["attempts"].value_counts().to_dict() == {1: 9_500, 2: 400, 3: 100}
    print(
        "table",
        table.shape,
        "tokens",
        int(table["prompt_tokens"].sum()),
        int(table["completion_tokens"].sum()),
    )

    # The deck as a person sees it: Chromium's screenshot is not blank, the text shown is the data's.
    chromium = require_browser()
    page = deck_page(result)
    png = screenshot(chromium, page, tmp_path / "deck.png")
    assert sum(1 for n in Image.open(png).convert("L").histogram() if n) > 16, "the screenshot is blank"
    shown = shown_text(chromium, page, tmp_path)
    for figure in ("10,000", "9,900", "89,100", "59,400", "$0.02", "invalid_request_error"):
        assert figure in shown, f"{figure} is not shown on the deck"
    # Every round's input files are gone from the server; the three rounds ran four batches.
    assert batch_files(emulator) == []
    assert batches(emulator) == 4


def test_a_job_with_nothing_to_retry_runs_three_tasks(
    emulator: Emulator, local_env: dict[str, str], tmp_path: Path, executed_tasks: list[str]
) -> None:
    ids = [f"req-{i}" for i in range(20)]
    wf = create_batch(name="calm", secret=SECRET, is_json_iterator=False, max_request_attempts=5)

    result = wf(jsonl_in=JSONLFile(str(write_requests(tmp_path / "requests.jsonl", ids))))

    assert executed_tasks == ["openai-file-upload-calm", "openai-batch-calm", "openai-download-files-calm"]
    assert sorted(o["custom_id"] for o in read_jsonl(result.output_file)) == sorted(ids)
    assert result.error_file is None
    assert batches(emulator) == 1


def test_a_round_is_added_only_while_requests_are_sent_again(
    emulator: Emulator, local_env: dict[str, str], tmp_path: Path, executed_tasks: list[str]
) -> None:
    emulator.configure(fail_requests=[{"custom_ids": "^flaky-", "status": 503, "attempts": 1}])
    ids = ["ok-1", "flaky-1", "ok-2"]
    wf = create_batch(name="once-more", secret=SECRET, is_json_iterator=False, max_request_attempts=5)

    result = wf(jsonl_in=JSONLFile(str(write_requests(tmp_path / "requests.jsonl", ids))))

    # Round 2 answers the flaky request: no round 3, though three more attempts were allowed.
    assert executed_tasks == [
        "openai-file-upload-once-more",
        "openai-batch-once-more",
        "openai-download-files-once-more",
        "openai-batch-once-more-round2",
        "openai-download-files-once-more-round2",
    ]
    attempts = {o["custom_id"]: o["attempts"] for o in read_jsonl(result.output_file)}
    assert attempts == {"ok-1": 1, "flaky-1": 2, "ok-2": 1}
    assert batches(emulator) == 2


def test_one_attempt_keeps_transient_failures_final(
    emulator: Emulator, local_env: dict[str, str], tmp_path: Path
) -> None:
    emulator.configure(fail_requests=[{"custom_ids": "^flaky-", "status": 429, "attempts": 1}])
    path = write_requests(tmp_path / "requests.jsonl", ["ok-1", "flaky-1", "ok-2"])
    wf = create_batch(name="one-try", secret=SECRET, is_json_iterator=False, max_request_attempts=1)

    result = wf(jsonl_in=JSONLFile(str(path)))

    [error] = read_jsonl(result.error_file)
    assert (error["custom_id"], error["attempts"], error["response"]["status_code"]) == ("flaky-1", 1, 429)
    assert batches(emulator) == 1
    assert result.table is not None
    assert len(result.table.open(pd.DataFrame).all()) == 3
