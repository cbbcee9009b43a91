"""Local runs of BatchEndpointTask through flytekit's async executor mixin, and Ctrl-C during one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from flytekit.exceptions.user import FlyteUserException

from flytekitplugins.openai.batch.task import BatchEndpointTask
from openai_batch_emulator import Emulator
from tests.support.waiting import wait_until, while_running

from .conftest import upload_requests

LOCAL_RUN = Path(__file__).with_name("local_run.py")


@pytest.mark.usefixtures("connector_key")
def test_local_run_returns_the_batch(emulator: Emulator, input_file_id: str) -> None:
    task = BatchEndpointTask(name="local", config={"metadata": {"run": "local"}}, base_url=emulator.base_url)
    result = task(input_file_id=input_file_id)
    assert result["status"] == "completed"
    assert result["metadata"] == {"run": "local"}
    assert result["request_counts"]["completed"] == 3


@pytest.mark.usefixtures("connector_key")
def test_local_run_of_a_failing_batch_raises_with_the_reason(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    emulator.configure(requests_per_second=5, completion_window_seconds=0.5)
    file_id = upload_requests(openai_client, count=20)
    task = BatchEndpointTask(name="local", config={}, base_url=emulator.base_url)
    with pytest.raises(FlyteUserException, match=r"expired.*requests completed.*accept_partial_results=True"):
        task(input_file_id=file_id)


@pytest.mark.slow
def test_ctrl_c_during_a_local_run_cancels_the_batch(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    emulator.configure(requests_per_second=0)  # the batch stays in progress until cancelled
    file_id = upload_requests(openai_client)
    env = {k: v for k, v in os.environ.items() if "OPENAI" not in k}
    env["FLYTE_OPENAI_API_KEY"] = emulator.api_key
    run = subprocess.Popen(
        [sys.executable, str(LOCAL_RUN), emulator.base_url, file_id],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        batch_id = wait_until(
            while_running(run, lambda: openai_client.batches.list().data), what="the local run's batch"
        )[0].id
        # flytekit registers the Ctrl-C handler before it first polls. Wait for the second poll (each
        # takes, and rides out, a fault armed for it): by then the poll's code is loaded, so Ctrl-C
        # lands between polls rather than in the middle of the first one's imports.
        polls = emulator.inject_fault("GET", f"/v1/batches/{batch_id}", status=503, count=2)
        wait_until(while_running(run, lambda: not polls.remaining), what="the local run's two polls")
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode != 0, out
    assert "result:" not in out
    assert f"Cancelled OpenAI batch {batch_id}." in err, err
    assert "Traceback" not in err, err
    assert openai_client.batches.retrieve(batch_id).status in ("cancelling", "cancelled")
