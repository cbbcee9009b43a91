"""While the server is down mid-run, a local `pyflyte run`'s status line says so (issue 28, item 4),
and the run carries on once the server is back on the same data."""

from __future__ import annotations

from pathlib import Path

import pytest

from openai_batch_emulator import Emulator

from .pyflyte_runs import Run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def emulator_settings() -> dict[str, object]:
    return {"requests_per_second": 0.5}  # round 1's batches run through the outage


def test_the_status_line_names_an_outage_instead_of_zero_counts(emulator: Emulator, tmp_path: Path) -> None:
    requests = tmp_path / "requests.jsonl"
    requests.write_text(
        (Path(__file__).resolve().parents[2] / "examples/data/chat_requests.jsonl").read_text()
    )
    run = Run(emulator, requests)
    run.wait_for(r"^openai-batch-signals: parts 0/3 \(3 running\)")
    port = emulator.port
    emulator.stop()
    # A line at each poll of the outage, its length growing.
    outage = run.wait_for(r"^openai-batch-signals: server unreachable for [1-9]\d* s, retrying, ")
    print(f"\nstatus line during the outage: {outage}")
    with Emulator(data_dir=emulator.data_dir, port=port, requests_per_second=1000):
        code, output = run.end()
    assert code == 0, output
    lines = [line for line in output.splitlines() if line.startswith("openai-batch-signals: ")]
    after = lines[next(i for i, line in enumerate(lines) if "server unreachable" in line) :]
    assert not [line for line in after if "0/0 done" in line], lines
    assert not [line for line in after if "server unreachable" in line and "done" in line], lines
    assert lines[-1].startswith("openai-batch-signals: parts 3/3, 10/10 done"), lines
