"""Ctrl-C or SIGTERM during a local Flyte 2 run cancels its batch and deletes its input file (flyte's
stock local connector runner leaves them running): counted on the server through the SDK."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import openai
import pytest

from openai_batch_emulator import Emulator
from tests.flyte2.test_docs_example import ROOT, first_python_block
from tests.support.waiting import wait_until, while_running

DEADLINE_S = 240.0


@pytest.fixture
def emulator_settings() -> dict[str, Any]:
    # 0 holds every batch in_progress until it is cancelled: the run is interrupted mid-batch.
    return {"requests_per_second": 0}


def wait_for(condition: Any, what: str, process: subprocess.Popen[str]) -> Any:
    return wait_until(while_running(process, condition), timeout=DEADLINE_S, what=what)


@pytest.mark.slow
@pytest.mark.parametrize("late", [False, True], ids=["running", "answer of its create under way"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupt_cancels_the_batch(
    tmp_path: Path,
    user_env: dict[str, str],
    emulator: Emulator,
    openai_client: openai.OpenAI,
    signum: int,
    late: bool,
) -> None:
    """The signal comes once the batch exists on the server: while it runs, or (``late``) while the
    answer of the create that made it is still on its way (the exit's cleanup waits for the start)."""
    if late:
        emulator.inject_fault("POST", "/batches", status="late", delay=6)
    script = tmp_path / "example.py"
    script.write_text(first_python_block(ROOT / "docs" / "flyte2.md"), encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=user_env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        batch = wait_for(lambda: openai_client.batches.list().data, "batch", process)[0]
        process.send_signal(signum)
        out, err = process.communicate(timeout=DEADLINE_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode != 0
    batches = openai_client.batches.list().data
    assert [b.id for b in batches] == [batch.id]
    assert batches[0].status in ("cancelling", "cancelled"), (batches[0].status, out, err)
    assert f"Cancelled OpenAI batch {batch.id}." in out + err, out + err
    assert "Could not clean up" not in out + err, out + err
    if late:
        assert "Waiting up to 30 s for the 1 batch start(s) under way, to cancel what they create." in err, (
            err
        )
    assert [f.id for f in openai_client.files.list() if f.purpose == "batch"] == [], out + err
