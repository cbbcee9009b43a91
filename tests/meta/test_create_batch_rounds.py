"""create_batch's request-level retries in local runs against the emulator, beside tests/meta/test_request_retries.py:
a retry round that fails again (attempts counted), every round's input files kept when asked, and runs
that never load pyarrow's Parquet module, with a results table or without.

The emulator fails chosen requests (`fail_requests`): transient ones (429/500/502/503) on their first
one or two attempts, permanent ones (400) every time.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
# (custom_id prefix, emulator rule): 5% transient (a quarter of them failing twice), 1% permanent.
KINDS = {
    "t429": {"status": 429, "attempts": 1},
    "t500": {"status": 500, "attempts": 2},
    "t502": {"status": 502, "attempts": 1},
    "t503": {"status": 503, "attempts": 2},
    "bad": {"status": 400},
}


def kind_of(i: int) -> str:
    if i % 100 == 7:
        return "bad"  # 1%
    if i % 20 == 3:
        return ("t429", "t500", "t502", "t503")[(i // 20) % 4]  # 5%
    return "ok"


@pytest.fixture
def local_env(local_env: dict[str, str], emulator: Emulator) -> Emulator:
    """conftest's local run environment, with the emulator failing chosen requests."""
    emulator.configure(fail_requests=[{"custom_ids": f"^{kind}-", **rule} for kind, rule in KINDS.items()])
    return emulator


def request_file(path: Path, count: int) -> list[str]:
    ids = [f"{kind_of(i)}-{i:05d}" for i in range(count)]
    write_jsonl(path, (chat(custom_id, f"question {custom_id}") for custom_id in ids))
    return ids


def batch_files(client: Any) -> list[Any]:
    """The request files (purpose batch) still on the server."""
    return [f for f in client.files.list() if f.purpose == "batch"]


SMALL = 200  # 10 transient (5 failing twice), 2 permanent


def test_a_retry_round_that_fails_again_counts_the_attempts_and_inputs_stay_when_asked(
    local_env: Emulator, openai_client: Any, tmp_path: Path
) -> None:
    ids = request_file(tmp_path / "requests.jsonl", SMALL)
    wf = create_batch(
        name="twice",
        secret=SECRET,
        is_json_iterator=False,
        max_request_attempts=2,
        max_requests=80,
        delete_input_files=False,
    )
    result = wf(jsonl_in=JSONLFile(str(tmp_path / "requests.jsonl")))
    errors = {line["custom_id"]: line for line in read_jsonl(result.error_file.download())}
    # t500 and t503 fail on their first two attempts: sent twice, both failed, attempts 2.
    assert {i: (e["attempts"], e["response"]["status_code"]) for i, e in errors.items()} == {
        **{i: (1, 400) for i in ids if i.startswith("bad-")},
        **{i: (2, int(i[1:4])) for i in ids if i[:4] in ("t500", "t503")},
    }
    output = read_jsonl(result.output_file.download())
    assert sorted(line["custom_id"] for line in output) == sorted(
        i for i in ids if i.startswith(("ok-", "t429", "t502"))
    )
    # Every round's input files stay: round 1's three parts, round 2's one.
    assert len(openai_client.batches.list().data) == 4
    assert len(batch_files(openai_client)) == 4
    table = result.table.open(pd.DataFrame).all()
    assert list(table["custom_id"]) == ids
    assert dict(Counter(zip(table["status"], table["attempts"], strict=True))) == {
        ("succeeded", 1): sum(i.startswith("ok-") for i in ids),
        ("succeeded", 2): sum(i.startswith(("t429", "t502")) for i in ids),
        ("failed", 1): sum(i.startswith("bad-") for i in ids),
        ("failed", 2): sum(i.startswith(("t500", "t503")) for i in ids),
    }


RUN = """
import sys
from flytekit import Secret
from flytekit.types.file import JSONLFile
from flytekitplugins.openai import create_batch

table = sys.argv[2] == "table"
wf = create_batch(name="lean", secret=Secret(group="openai", key="api_key"), is_json_iterator=False,
                  results_table=table)
result = wf(jsonl_in=JSONLFile(sys.argv[1]))
assert result.output_file is not None and (result.table is not None) == table
print("pyarrow.parquet imported:", "pyarrow.parquet" in sys.modules)
"""


@pytest.mark.parametrize("table", ["table", "no table"])
def test_a_run_never_imports_the_parquet_module(local_env: Emulator, tmp_path: Path, table: str) -> None:
    """pyarrow's Parquet module costs ~0.3 s and ~40 MB: the results table is written without it.

    (`import flytekit` imports pyarrow itself where it is installed, as in this workspace's dev group.)"""
    request_file(tmp_path / "requests.jsonl", 20)
    run = subprocess.run(
        [sys.executable, "-c", RUN, str(tmp_path / "requests.jsonl"), table],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "pyarrow.parquet imported: False" in run.stdout
