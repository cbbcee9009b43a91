"""Local runs in a subprocess, as a user runs them: SIGTERM/SIGHUP cancel on the server, and the
status lines a log gets."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from openai_batch_emulator import Emulator
from tests.support.waiting import wait_until, while_running

from .conftest import upload_requests
from .job_support import upload_parts

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
WAIT_S = 120.0


def start(emulator: Emulator, script: str, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if "OPENAI" not in k}
    env["FLYTE_OPENAI_API_KEY"] = emulator.api_key
    return subprocess.Popen(
        [sys.executable, str(HERE / script), emulator.base_url, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_batches(run: subprocess.Popen[str], client: openai.OpenAI, count: int) -> list[str]:
    created = while_running(run, lambda: len(client.batches.list().data) >= count)
    wait_until(created, timeout=WAIT_S, what="the local run's batches")
    return [b.id for b in client.batches.list().data]


def wait_for_polls(run: subprocess.Popen[str], emulator: Emulator, path: str) -> None:
    """Wait until the run has polled twice (each poll rides out a fault armed for it): by then the
    poll's code is loaded, so the signal lands between polls rather than in the middle of imports."""
    polls = emulator.inject_fault("GET", path, status=503, count=2)
    wait_until(
        while_running(run, lambda: not polls.remaining), timeout=WAIT_S, what="the local run's two polls"
    )


def finish(run: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return run.communicate(timeout=WAIT_S)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_a_local_job_cancels_every_batch(
    emulator: Emulator, openai_client: openai.OpenAI, signum: signal.Signals
) -> None:
    emulator.configure(requests_per_second=0)  # batches stay in progress until cancelled
    file_ids = upload_parts(openai_client, parts=2)
    run = start(emulator, "local_job_run.py", *file_ids)
    batch_ids = wait_for_batches(run, openai_client, 2)
    wait_for_polls(run, emulator, "/v1/batches")
    run.send_signal(signum)
    out, err = finish(run)
    assert run.returncode != 0, out
    assert "result:" not in out
    assert f"{signum.name}: stopped local-job-run during the batches (local-job-run)." in err, err
    assert run.returncode == 128 + signum, err
    assert "Cancelled OpenAI batches " in err, err
    assert all(batch_id in err for batch_id in batch_ids), err
    assert "Deleted its 2 input files from the server." in err, err
    assert "Traceback" not in err, err
    assert {openai_client.batches.retrieve(b).status for b in batch_ids} <= {"cancelling", "cancelled"}
    # Nothing the run uploaded is left on the server.
    assert not {f.id for f in openai_client.files.list().data} & set(file_ids)


def test_sigterm_during_a_local_batch_cancels_it(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    emulator.configure(requests_per_second=0)
    file_id = upload_requests(openai_client)
    run = start(emulator, "local_run.py", file_id)
    (batch_id,) = wait_for_batches(run, openai_client, 1)
    wait_for_polls(run, emulator, f"/v1/batches/{batch_id}")
    run.send_signal(signal.SIGTERM)
    out, err = finish(run)
    assert run.returncode != 0, out
    assert run.returncode == 128 + signal.SIGTERM, err
    assert f"Cancelled OpenAI batch {batch_id}." in err, err
    assert len([line for line in err.splitlines() if line.startswith("SIGTERM: stopped ")]) == 1, err
    assert openai_client.batches.retrieve(batch_id).status in ("cancelling", "cancelled")


def test_a_local_job_writes_short_status_lines_to_a_log(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    emulator.configure(requests_per_second=4)
    file_ids = upload_parts(openai_client, parts=3, count=4)
    run = start(emulator, "local_job_run.py", *file_ids)
    out, err = finish(run)
    assert run.returncode == 0, err
    assert "result: ['completed', 'completed', 'completed']" in out
    lines = [line for line in err.splitlines() if line.startswith("local-job-run:")]
    print("\n".join(lines))
    assert lines, err
    # A line per change of status (not one per poll), each fitting 80 columns.
    assert all(len(line) < 80 for line in lines), lines
    assert len(lines) == len(set(line.rsplit(",", 1)[0] for line in lines)), lines
    assert lines[-1].startswith("local-job-run: parts 3/3, 12/12 done, 0 failed, ")
