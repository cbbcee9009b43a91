"""`interrupts.ending_on_signals` in a process of its own: the deadline after a signal stands down when
the run ended in time and what called it goes on (a notebook's kernel catching the SystemExit), and
the watcher ends with a run that got no signal. (A cleanup that stalls: tests/meta/test_run_signals.py.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from openai_batch_jobs.interrupts import CLEANUP_DEADLINE_ENV

CALLER = """
import os, signal, sys, threading
from openai_batch_jobs import interrupts

try:
    with interrupts.ending_on_signals("demo"):
        if sys.argv[1] == "signal":
            os.kill(os.getpid(), signal.SIGINT)
            threading.Event().wait(60)  # the handler's exception ends the wait
except SystemExit as exc:
    print("run ended with", exc.code)
(watcher,) = [t for t in threading.enumerate() if t.name == "cleanup-deadline"] or [None]
if watcher is not None:
    watcher.join(60)
print("the caller goes on; the watcher is", "gone" if watcher is None or not watcher.is_alive() else "there")
"""


def run_caller(argument: str, deadline: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, CLEANUP_DEADLINE_ENV: deadline}
    return subprocess.run(
        [sys.executable, "-c", CALLER, argument],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("signal", ["signal", "no signal"])
def test_a_caller_goes_on_past_the_deadline(signal: str) -> None:
    # Long enough that the run surely ends (the signal to its `finally`) first, even on a loaded machine.
    done = run_caller(signal, deadline="3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.endswith("the caller goes on; the watcher is gone\n"), done.stdout + done.stderr
    if signal == "signal":
        assert "run ended with 130" in done.stdout
        assert done.stderr.startswith("SIGINT: stopped demo during start."), done.stderr
        assert "did not end within" not in done.stderr
    else:
        assert done.stderr == ""


def test_a_bad_deadline_is_named() -> None:
    done = run_caller("no signal", deadline="soon")
    assert done.returncode != 0
    assert f"{CLEANUP_DEADLINE_ENV} must be a positive number of seconds, got 'soon'." in done.stderr
