"""Every `python` block of the README and docs/ runs as a user runs it.

A block that declares a flytekit workflow is saved as a file and run with `pyflyte run` against the
emulator, with the keys set as docs/keys.md says; a block run by a test of its own (Flyte 2's script)
names that test here. A new block that is neither fails the first test, so no example goes unrun.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from openai_batch_emulator import Emulator

from .readme import ROOT

KEY = "sk-proj-fake-docexamples-0123456789abcdefghij"
PAGES = sorted({ROOT / "README.md", *ROOT.glob("docs/**/*.md")})


@dataclass(frozen=True)
class Run:
    """How to run a block: its workflow, the workflow's inputs, and a line the run must print."""

    workflow: str
    inputs: tuple[str, ...]
    prints: str


# (page, index of its python block) -> how it runs.
RUNS = {
    ("README.md", 0): Run(
        "answer",
        ("--requests", str(ROOT / "examples" / "data" / "chat_requests.jsonl")),
        "Round 1: 10 requests: 10 succeeded",
    ),
    ("docs/chatgpt.md", 0): Run("ask", ("--question", "What is Flyte?"), "Echo: What is Flyte?"),
}
# (page, index of its python block) -> the test that runs it.
RUN_ELSEWHERE = {("docs/flyte2.md", 0): ROOT / "tests" / "flyte2" / "test_docs_example.py"}


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", page.read_text(), flags=re.MULTILINE | re.DOTALL)


def blocks() -> dict[tuple[str, int], str]:
    return {
        (page.relative_to(ROOT).as_posix(), index): block
        for page in PAGES
        for index, block in enumerate(python_blocks(page))
    }


def test_every_python_block_is_run() -> None:
    found = blocks()
    assert ("README.md", 0) in found, "the README's example was not found"
    assert set(found) == set(RUNS) | set(RUN_ELSEWHERE), (
        "each python block needs a way to run here (RUNS) or the test that runs it (RUN_ELSEWHERE)"
    )
    for (page, _), test in RUN_ELSEWHERE.items():
        assert page in test.read_text(), f"{test.relative_to(ROOT)} does not read {page}"


@pytest.mark.parametrize("where", sorted(blocks()), ids=lambda w: f"{w[0]}[{w[1]}]")
def test_every_python_block_parses(where: tuple[str, int]) -> None:
    ast.parse(blocks()[where], filename=where[0])


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("where", sorted(RUNS), ids=lambda w: f"{w[0]}[{w[1]}]")
def test_the_block_runs_with_pyflyte(where: tuple[str, int], tmp_path: Path) -> None:
    run = RUNS[where]
    script = tmp_path / "doc_example.py"
    script.write_text(blocks()[where])
    # Only KEY is accepted, so a step that found no key, or another one, cannot pass.
    with Emulator(data_dir=tmp_path / "emulator", api_key=KEY) as emulator:
        keys = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_ORGANIZATION")
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in keys and not k.startswith(("_FSEC_", "FLYTE_OPENAI"))
        }
        # As docs/keys.md sets them for a local run, with the emulator as the server.
        env |= {"OPENAI_API_KEY": KEY, "FLYTE_OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": emulator.base_url}
        done = subprocess.run(
            [str(Path(sys.executable).parent / "pyflyte"), "run", script.name, run.workflow, *run.inputs],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert run.prints in done.stdout, output
    assert KEY not in output
