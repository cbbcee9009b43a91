"""Ctrl-C in the quick start cancels the running batch on the server, then exits 130 without a traceback."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai
import pytest

from openai_batch_emulator import Emulator
from tests.support.waiting import wait_until, while_running

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# Generous: the machine may be running several suites at once on two cores.
DEADLINE_S = 240.0


@pytest.fixture
def emulator_settings() -> dict[str, Any]:
    # 0 holds every batch in_progress until it is cancelled: the quick start is interrupted mid-batch.
    return {"requests_per_second": 0}


def wait_for(condition: Callable[[], Any], what: str, process: subprocess.Popen[str]) -> Any:
    """Poll `condition` until it returns something truthy; fail if the quick start ends first or time runs out."""
    return wait_until(while_running(process, condition), timeout=DEADLINE_S, what=what)


def in_progress_batch(client: openai.OpenAI) -> str | None:
    return next((b.id for b in client.batches.list() if b.status == "in_progress"), None)


@contextmanager
def quickstart(tmp_path: Path, **env: str) -> Iterator[tuple[subprocess.Popen[str], Path, Path]]:
    """The quick start as a terminal's foreground job: a process group of its own, output to files."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "_FSEC_", "FLYTE_OPENAI"))}
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "examples/quickstart.py")],
            env={**clean, **env},
            stdout=stdout,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
    try:
        yield process, out, err
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def assert_stopped_cleanly(process: subprocess.Popen[str], out: Path, err: Path, batch_id: str) -> str:
    try:
        process.wait(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        pytest.fail("the quick start did not exit after Ctrl-C")
    output = out.read_text() + err.read_text()
    assert process.returncode == 130, output
    assert "Traceback" not in output, output
    assert f"Cancelled OpenAI batch {batch_id}." in output, output
    return output


@pytest.mark.timeout(900)
@pytest.mark.parametrize("to_group", [True, False], ids=["ctrl-c-in-a-terminal", "sigint-to-the-script"])
def test_interrupt_cancels_the_batch(emulator: Emulator, tmp_path: Path, to_group: bool) -> None:
    """A terminal's Ctrl-C signals the whole foreground group; `kill -INT` signals the script alone.

    Either way pyflyte gets exactly one SIGINT and cancels the batch before the script exits.
    """
    client = emulator.client()
    with quickstart(tmp_path, OPENAI_BASE_URL=emulator.base_url, OPENAI_API_KEY=emulator.api_key) as (
        process,
        out,
        err,
    ):
        batch_id = wait_for(lambda: in_progress_batch(client), "its batch was in progress", process)
        if to_group:
            os.killpg(process.pid, signal.SIGINT)
        else:
            os.kill(process.pid, signal.SIGINT)
        output = assert_stopped_cleanly(process, out, err, batch_id)
    assert client.batches.retrieve(batch_id).status in ("cancelling", "cancelled"), output
    assert f"Batch {batch_id}: cancel" in output, output


@pytest.mark.timeout(900)
def test_ctrl_c_with_the_embedded_emulator_cancels_before_it_stops(tmp_path: Path) -> None:
    """The embedded emulator is out of the terminal's reach: it serves pyflyte's cancel, then stops."""
    with quickstart(tmp_path) as (process, out, err):
        url = wait_for(
            lambda: re.search(r"Target: the embedded emulator at (\S+)", out.read_text()),
            "it named its emulator",
            process,
        ).group(1)
        # Hold batches in_progress. The quick start prints the line above before it starts pyflyte,
        # which takes seconds to reach the upload: no batch can exist yet (checked just below).
        request = urllib.request.Request(
            url.removesuffix("/v1") + "/_emulator/settings",
            data=json.dumps({"requests_per_second": 0}).encode(),
            headers={"Content-Type": "application/json"},
            method="PATCH",
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert json.load(reply)["requests_per_second"] == 0
        client = openai.OpenAI(base_url=url, api_key="sk-test")
        assert not client.batches.list().data, "a batch was created before the emulator was told to hold it"
        batch_id = wait_for(lambda: in_progress_batch(client), "its batch was in progress", process)
        os.killpg(process.pid, signal.SIGINT)
        output = assert_stopped_cleanly(process, out, err, batch_id)
    # The quick start asked its emulator for the batch after pyflyte had cancelled it.
    assert re.search(rf"^Batch {batch_id}: (cancelling|cancelled)$", output, flags=re.MULTILINE), output
