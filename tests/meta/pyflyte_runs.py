"""A `pyflyte run` of a test workflow in a subprocess, its output read line by line as it comes, so that
a test waits on the run's own lines (bounded), never on sleeps."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

from openai_batch_emulator import Emulator
from tests.support.waiting import wait_until

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
PYFLYTE = str(Path(sys.executable).parent / "pyflyte")
DEADLINE_S = 240.0


def run_example(
    requests: Path, env: dict[str, str], *options: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`pyflyte [options] run` of the README's example workflow (examples/jsonl_file_workflow.py) on
    ``requests``, to its end."""
    workflow = str(ROOT / "examples/jsonl_file_workflow.py")
    return subprocess.run(
        [PYFLYTE, *options, "run", workflow, "jsonl_file_batch", "--jsonl_in", str(requests)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or requests.parent,
        timeout=DEADLINE_S,
    )


class Run:
    """A `pyflyte run` of the workflow, its output (stdout and stderr as one stream) read as it comes."""

    def __init__(
        self,
        emulator: Emulator,
        requests: Path,
        workflow: str = "signals_workflow.py:signals_batch",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        clean = {
            k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "_FSEC_", "FLYTE_OPENAI"))
        }
        env = (
            clean
            | {
                "OPENAI_BASE_URL": emulator.base_url,
                "_FSEC_OPENAI_API_KEY": emulator.api_key,
                "FLYTE_OPENAI_API_KEY": emulator.api_key,
            }
            | (extra_env or {})
        )
        module, entity = workflow.split(":")
        command = [str(Path(sys.executable).parent / "pyflyte"), "run", str(HERE / module), entity]
        self.process = subprocess.Popen(
            [*command, "--jsonl_in", str(requests)],
            env=env,
            cwd=requests.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.lines.append("<end>")
            self.changed.notify_all()

    def wait_for(self, pattern: str) -> str:
        """The first line matching `pattern`; fails if the run ends or the deadline passes first."""

        def found() -> str | None:
            line = next((line for line in self.lines if re.search(pattern, line)), None)
            assert line is not None or "<end>" not in self.lines, "\n".join(self.lines)
            return line

        line = wait_until(found, timeout=DEADLINE_S, what=f"a line {pattern!r}", changed=self.changed)
        assert line is not None
        return line

    def end(self) -> tuple[int, str]:
        try:
            code = self.process.wait(timeout=DEADLINE_S)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        self.wait_for("<end>")
        return code, "\n".join(self.lines[:-1])
