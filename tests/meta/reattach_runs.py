"""`pyflyte run` of the recovery workflows as a user's terminal runs it, killed with SIGKILL mid-job,
and the `orphans` command; every count through the SDK."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import openai

from openai_batch_emulator import Emulator
from openai_batch_jobs.files.uploads import FILE_PREFIX
from tests.support.waiting import wait_until, while_running

HERE = Path(__file__).parent
PYFLYTE = str(Path(sys.executable).parent / "pyflyte")
# Generous: the machine may run several suites at once on two cores.
WAIT_S = 300.0
PARTS = 3


def write_requests(path: Path, word: str = "hello") -> Path:
    """Six chat requests: three parts of two under the workflows' ``max_requests=2``."""
    lines = [
        {
            "custom_id": f"r{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"{word} {i}"}]},
        }
        for i in range(2 * PARTS)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def environment(emulator: Emulator, state: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "_FSEC_", "FLYTE_OPENAI"))}
    return {
        **clean,
        "_FSEC_OPENAI_API_KEY": emulator.api_key,
        "FLYTE_OPENAI_API_KEY": emulator.api_key,
        "OPENAI_BASE_URL": emulator.base_url,
        "OPENAI_BATCH_JOBS_STATE_DIR": str(state),
    }


def start(env: dict[str, str], workflow: str, requests: Path, workdir: Path) -> subprocess.Popen[str]:
    """`pyflyte run` in a session of its own (a terminal's job), its output to files in `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    with open(workdir / "out", "w") as out, open(workdir / "err", "w") as err:
        return subprocess.Popen(
            [PYFLYTE, "run", str(HERE / "reattach_workflow.py"), workflow, "--jsonl_in", str(requests)],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=err,
            text=True,
            start_new_session=True,
        )


def output(workdir: Path) -> str:
    return (workdir / "out").read_text() + (workdir / "err").read_text()


def kill_after_batches(run: subprocess.Popen[str], client: openai.OpenAI, workdir: Path, count: int) -> None:
    """SIGKILL the run's whole session once `count` batches are in progress on the server."""
    running = lambda: sum(b.status == "in_progress" for b in client.batches.list(limit=100)) >= count  # noqa: E731
    wait_until(
        while_running(run, running, lambda: output(workdir)),
        timeout=WAIT_S,
        what=f"{count} batches in progress",
    )
    os.killpg(run.pid, signal.SIGKILL)
    run.wait(timeout=WAIT_S)


def finish(run: subprocess.Popen[str], workdir: Path) -> str:
    """Wait for the run to end; its output (it must have succeeded)."""
    try:
        run.wait(timeout=WAIT_S)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    text = output(workdir)
    assert run.returncode == 0, text[-4000:]
    return text


def orphans(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flytekitplugins.openai", "orphans", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )


def our_files(client: openai.OpenAI) -> list[openai.types.FileObject]:
    return [f for f in client.files.list(purpose="batch") if f.filename.startswith(FILE_PREFIX)]
