"""The README's first command: the quick start runs a batch end to end and prints its summary."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("workflow", ["jsonl", "iterator", "embeddings"])
def test_quickstart_runs_each_example_against_the_embedded_emulator(workflow: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "_FSEC_", "FLYTE_OPENAI"))}
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples/quickstart.py"), "--workflow", workflow],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "Target: the embedded emulator at http://127.0.0.1:" in out
    assert re.search(r"Batch batch_\w+: completed", out), out
    total = {"jsonl": 10, "iterator": 3, "embeddings": 5}[workflow]
    assert f"Requests: {total} total, {total} completed, 0 failed" in out
    answers = re.findall(r"^  \S+: (.+)$", out, flags=re.MULTILINE)
    assert answers, out
    (result_file,) = re.findall(r"^  (/\S+-output\.jsonl)$", out, flags=re.MULTILINE)
    assert len(Path(result_file).read_text().splitlines()) == total
    # Where the table and the deck are: the table's from the BatchResult pyflyte prints (stdout), the
    # deck's from the collect task's line (stderr).
    (table,) = re.findall(r"^The results table \(Parquet[^)]*\): (/\S+)$", out, flags=re.MULTILINE)
    assert pq.read_table(table).num_rows == total
    (deck,) = re.findall(r"^The deck \([^)]*\): file://(/\S+\.html)$", out, flags=re.MULTILINE)
    assert Path(deck).stat().st_size > 0
    # The last two lines, where a reader looks when the run ends.
    table_line, deck_line = out.rstrip().splitlines()[-2:]
    assert table_line.startswith("The results table"), out
    assert deck_line.startswith("The deck"), out
