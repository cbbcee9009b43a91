"""create_batch's round 1 reads the request keys the upload step wrote as it cut the input (issue 27): a
default local run downloads no part's input file back from the server but to send a request again,
and its files and table are what the requests and the emulator's answers say."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from flytekit import Secret
from flytekit.types.file import JSONLFile

from flytekitplugins.openai import create_batch
from openai_batch_emulator import Emulator
from tests.support.rounds import (
    chat,
    emulator_settings,  # noqa: F401 (the fixture)
    read_jsonl,
    write_jsonl,
)

pytestmark = pytest.mark.slow

SECRET = Secret(group="openai", key="api_key")


@pytest.fixture
def local_env(local_env: dict[str, str], emulator: Emulator) -> Emulator:
    """conftest's local run environment, with the emulator failing chosen requests."""
    emulator.configure(
        fail_requests=[
            {"custom_ids": "^bad-", "status": 400},
            {"custom_ids": "^flaky-", "status": 500, "attempts": 1},
        ]
    )
    return emulator


def kind_of(i: int) -> str:
    """Permanent failures in every part; transient ones (sent again) only in part 2 (80 a part)."""
    if i % 30 == 7:
        return "bad"
    return "flaky" if i in (90, 131) else "ok"


@pytest.mark.parametrize("results_table", [True, False])
def test_a_default_run_reads_no_input_back_but_to_send_a_request_again(
    local_env: Emulator, openai_client: Any, tmp_path: Path, results_table: bool
) -> None:
    ids = [f"{kind_of(i)}-{i:04d}" for i in range(200)]
    write_jsonl(tmp_path / "requests.jsonl", (chat(i, f"question {i}") for i in ids))
    wf = create_batch(
        name="keys", secret=SECRET, is_json_iterator=False, max_requests=80, results_table=results_table
    )

    result = wf(jsonl_in=JSONLFile(str(tmp_path / "requests.jsonl")))

    batches = openai_client.batches.list().data
    assert sorted(b.request_counts.total for b in batches) == [2, 40, 80, 80]
    downloads = local_env.downloads()
    # Round 1 read its keys: only part 2's input (its two flaky requests go again: 3 permanent failures
    # and 2 transient) came back, once; round 2 has no keys from the upload step and downloads its part.
    sent_again = {
        b.input_file_id for b in batches if b.request_counts.failed == 5 or b.request_counts.total == 2
    }
    assert len(sent_again) == 2
    assert {b.input_file_id: downloads.get(b.input_file_id, 0) for b in batches} == {
        b.input_file_id: 1 if b.input_file_id in sent_again else 0 for b in batches
    }
    assert all(downloads[b.output_file_id] == 1 for b in batches)
    output = read_jsonl(result.output_file.download())
    errors = read_jsonl(result.error_file.download())
    assert [line["custom_id"] for line in output] == [
        i for i in ids if not i.startswith(("bad", "flaky"))
    ] + [
        "flaky-0090",
        "flaky-0131",
    ]
    assert [(e["custom_id"], e["attempts"]) for e in errors] == [(i, 1) for i in ids if i.startswith("bad")]
    assert all(
        line["response"]["body"]["choices"][0]["message"]["content"] == f"Echo: question {line['custom_id']}"
        for line in output
    )
    if not results_table:
        assert result.table is None
        return
    table = result.table.open(pd.DataFrame).all()
    assert list(table["custom_id"]) == ids
    assert list(table["model"]) == ["gpt-4o-mini"] * len(ids)
    assert dict(Counter(zip(table["status"], table["attempts"], strict=True))) == {
        ("succeeded", 1): sum(i.startswith("ok") for i in ids),
        ("succeeded", 2): 2,
        ("failed", 1): sum(i.startswith("bad") for i in ids),
    }
