"""The journals of local runs: a live run's is never handed to another run (identical runs at the
same time stay apart); a killed run's is, with what it recorded; a run that ends on its own leaves none."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from openai_batch_jobs.recovery import journal

pytestmark = pytest.mark.slow

HOLD = """
import sys
from openai_batch_jobs.recovery.journal import claim
held = claim("job", sys.argv[1])
held.record(key="local/abc/run1", file_ids=["file-1"])
print("held", flush=True)
sys.stdin.read()  # until the test closes stdin (a normal end) or kills the process
"""


def holder(state: Path, print_: str) -> subprocess.Popen[str]:
    env = {**os.environ, journal.STATE_DIR_ENV: str(state)}
    run = subprocess.Popen(
        [sys.executable, "-c", HOLD, print_],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert run.stdout is not None
    assert run.stdout.readline() == "held\n"
    return run


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(journal.STATE_DIR_ENV, str(tmp_path))
    return tmp_path


def test_a_live_run_keeps_its_journal_and_a_killed_one_hands_it_on(state: Path) -> None:
    run = holder(state, "f" * 64)
    try:
        assert journal.claim("job", "f" * 64) is None  # alive: the second run stays apart
        assert [r["key"] for r in journal.live_records()] == ["local/abc/run1"]
    finally:
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=60)
    assert list(journal.live_records()) == []
    held = journal.claim("job", "f" * 64)
    assert held is not None
    assert held.resumed
    assert (held.left["key"], held.left["file_ids"]) == ("local/abc/run1", ["file-1"])


def test_a_run_that_ends_on_its_own_leaves_nothing_to_re_attach_to(state: Path) -> None:
    run = holder(state, "e" * 64)
    assert run.stdin is not None
    run.stdin.close()
    assert run.wait(timeout=60) == 0
    assert list(state.iterdir()) == []
    held = journal.claim("job", "e" * 64)
    assert held is not None
    assert not held.resumed
