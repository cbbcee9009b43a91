"""Local runs of a workflow with a ChatGPTTask against the emulator: in Python and with `pyflyte run`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from flytekit import workflow

from flytekitplugins.openai import ChatGPTTask
from openai_batch_emulator import Emulator

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "chatgpt_workflow.py"

pytestmark = pytest.mark.usefixtures("connector_key")


def test_a_workflow_asks_and_passes_the_answer_on(emulator: Emulator) -> None:
    ask = ChatGPTTask(name="ask", chatgpt_config={"model": "gpt-4o-mini"}, base_url=emulator.base_url)
    again = ChatGPTTask(name="again", chatgpt_config={"model": "gpt-4o-mini"}, base_url=emulator.base_url)

    @workflow
    def twice(question: str) -> str:
        return again(message=ask(message=question))

    assert twice(question="What is Flyte?") == "Echo: Echo: What is Flyte?"


def test_a_failed_answer_fails_the_run_with_the_reason(emulator: Emulator) -> None:
    ask = ChatGPTTask(name="ask", chatgpt_config={"model": "no-such-model"}, base_url=emulator.base_url)

    @workflow
    def wf(question: str) -> str:
        return ask(message=question)

    # flytekit wraps the failure in a version-dependent exception type: check its message.
    with pytest.raises(Exception, match=r"HTTP 404.*no-such-model"):
        wf(question="hi")


@pytest.mark.slow
def test_pyflyte_run_of_the_example(emulator: Emulator) -> None:
    env = {k: v for k, v in os.environ.items() if "OPENAI" not in k}
    env.update(OPENAI_BASE_URL=emulator.base_url, FLYTE_OPENAI_API_KEY=emulator.api_key)
    pyflyte = str(Path(sys.executable).parent / "pyflyte")
    run = subprocess.run(
        [pyflyte, "run", str(EXAMPLE), "ask", "--question", "What is Flyte?"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().splitlines()[-1] == "Echo: What is Flyte?"
