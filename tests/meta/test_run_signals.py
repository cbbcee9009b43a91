"""SIGINT, SIGTERM and SIGHUP in every phase of a local `pyflyte run` of create_batch (issue 28, item 2).

Each case runs `signals_workflow.py` in a subprocess against the emulator, holds one phase open with
the emulator's knobs (a slow link for the upload and the collect step, batches held in progress for
the job of round 1 and of round 2), waits for the run's own line saying it is in that phase, sends
the signal, and checks the run's one ending message, its exit status (128 + the signal) and what is
left on the server, counted through the SDK: nothing the run created but its batches (cancelled)
and their result files (`delete_result_files` is off by default). Each case prints a row of the
signal x phase table (`pytest -s` shows them).
"""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from openai_batch_emulator import Emulator
from openai_batch_jobs.interrupts import CLEANUP_DEADLINE_ENV

from .pyflyte_runs import Run

# Parts 1 and 2 are small, part 3 large: on a slow link parts 1 and 2 are done while part 3 is not.
SLOW_LINK = {"transfer_bytes_per_second": 2000}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def request(index: int, padding: int) -> str:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"q{index} " + "x" * padding}]}
    line = {"custom_id": f"r-{index:02d}", "method": "POST", "url": "/v1/chat/completions", "body": body}
    return json.dumps(line) + "\n"


@pytest.fixture
def requests_file(tmp_path: Path) -> Path:
    path = tmp_path / "requests.jsonl"
    path.write_text("".join(request(i, 3000 if i >= 8 else 10) for i in range(10)))
    return path


def hold_upload(emulator: Emulator, run: Run) -> None:
    run.wait_for(r"^Uploaded part 1 of 3")
    run.wait_for(r"^Uploaded part 2 of 3")


def hold_job(emulator: Emulator, run: Run) -> None:
    run.wait_for(r"^openai-batch-signals: parts 0/3 \(3 running\)")


def hold_collect(emulator: Emulator, run: Run) -> None:
    run.wait_for(r"^openai-batch-signals: parts")  # round 1's batches exist: they validate for 3 s
    emulator.configure(**SLOW_LINK)
    run.wait_for(r"^Round 1: downloaded part 2 of 3")


def hold_round_2(emulator: Emulator, run: Run) -> None:
    run.wait_for(r"^openai-batch-signals: parts")  # round 1's batches exist: round 2's will be held
    emulator.configure(requests_per_second=0)
    run.wait_for(r"^openai-batch-signals-round2: parts 0/1 \(1 running\)")


# phase: (emulator settings at the start, how the test waits for the phase, what the message says)
PHASES: dict[str, tuple[dict[str, object], Callable[[Emulator, Run], None], str]] = {
    "upload": (SLOW_LINK, hold_upload, "the upload"),
    "job": ({"requests_per_second": 0}, hold_job, "the batches (openai-batch-signals)"),
    "collect": ({"validating_seconds": 3}, hold_collect, "the collect step of round 1"),
    "round 2": (
        {
            "validating_seconds": 3,
            "fail_requests": [{"custom_ids": "^r-0[01]$", "status": 500, "attempts": 1}],
        },
        hold_round_2,
        "the batches (openai-batch-signals-round2)",
    ),
}


@pytest.fixture
def emulator_settings(request: pytest.FixtureRequest) -> dict[str, object]:
    callspec = getattr(request.node, "callspec", None)
    phase = callspec.params.get("phase") if callspec else None
    return dict(PHASES[phase][0]) if phase else {}


@pytest.mark.parametrize("phase", list(PHASES))
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_ends_the_run_cleanly(
    emulator: Emulator, requests_file: Path, phase: str, signum: signal.Signals
) -> None:
    _, hold, during = PHASES[phase]
    run = Run(emulator, requests_file)
    hold(emulator, run)
    run.process.send_signal(signum)
    code, output = run.end()
    ending = [line for line in output.splitlines() if line.startswith(f"{signum.name}: stopped ")]
    assert len(ending) == 1, output
    message = ending[0]
    assert "Traceback" not in output, output
    assert code == 128 + signum, output
    assert f" during {during}" in message, message
    left = what_is_left(emulator)
    print(f"\n| {signum.name} | {phase} | {message} | {code} | {left} |")
    assert left["request files"] == 0, (left, output)
    assert set(left["batches"]) <= {"cancelling", "cancelled", "completed"}, (left, output)
    check_phase(phase, message, left)


def check_phase(phase: str, message: str, left: dict[str, object]) -> None:
    if phase == "upload":
        assert "Uploaded 3 request files, deleted all of them from the server." in message
        assert left["batches"] == []
    if phase in ("job", "round 2"):
        assert "Cancelled OpenAI batch" in message
        assert "cancelled" in left["batches"] or "cancelling" in left["batches"]
    if phase in ("collect", "round 2"):
        kept = re.findall(r"(\d+) answers? in (\S+?)[;.]( |$)", message)
        assert kept, message
        assert all(Path(path).is_file() for _, path, _ in kept), message
        assert sum(int(count) for count, _, _ in kept) >= (8 if phase == "round 2" else 4), message


def what_is_left(emulator: Emulator) -> dict[str, object]:
    with emulator.client() as client:
        files = client.files.list().data
        batches = client.batches.list().data
    return {
        "request files": sum(f.purpose == "batch" for f in files),
        "result files": sum(f.purpose == "batch_output" for f in files),
        "batches": sorted(b.status for b in batches),
    }


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_in_the_lean_collect_step_keeps_what_it_joined(
    emulator: Emulator, requests_file: Path, signum: signal.Signals
) -> None:
    emulator.configure(validating_seconds=3)
    run = Run(emulator, requests_file, workflow="signals_workflow.py:lean_batch")
    run.wait_for(r"^openai-batch-lean: parts")  # the batches exist: they validate for 3 s
    emulator.configure(**SLOW_LINK)
    run.wait_for(r"^Part 2 of 3 ")
    run.process.send_signal(signum)
    code, output = run.end()
    (message,) = [line for line in output.splitlines() if line.startswith(f"{signum.name}: stopped ")]
    left = what_is_left(emulator)
    print(f"\n| {signum.name} | lean collect | {message} | {code} | {left} |")
    assert code == 128 + signum, output
    assert "Traceback" not in output, output
    assert left["request files"] == 0, (left, output)
    check_phase("collect", message, left)


def test_a_cleanup_that_stalls_ends_at_its_deadline(emulator: Emulator, requests_file: Path) -> None:
    """The upload's cleanup waits for part 3's upload to delete its file; on a 300 B/s link that takes
    some 20 s, past the 2 s deadline: the run ends there, with its message, the deadline's, and where
    each thread stood."""
    emulator.configure(transfer_bytes_per_second=300)
    run = Run(emulator, requests_file, extra_env={CLEANUP_DEADLINE_ENV: "2"})
    hold_upload(emulator, run)
    run.process.send_signal(signal.SIGINT)
    code, output = run.end()
    assert code == 130, output
    assert "SIGINT: stopped openai-batch-signals during the upload (" in output, output
    assert (
        f"SIGINT: the run did not end within 2 s of the signal ({CLEANUP_DEADLINE_ENV}); exiting without "
        "waiting longer: a transfer or a cancel still under way may leave its file or batch on the server."
    ) in output, output
    assert "Thread 0x" in output, output  # faulthandler's dump of every thread
