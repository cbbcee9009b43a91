"""The first `python` block of docs/flyte2.md, run as a user runs it: a local Flyte 2 run of a batch
job against the emulator, with only OPENAI_BASE_URL, OPENAI_API_KEY and FLYTE_OPENAI_API_KEY set."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import openai
import pytest

ROOT = Path(__file__).resolve().parents[2]


def first_python_block(page: Path) -> str:
    text = page.read_text(encoding="utf-8")
    assert "\n# Flyte 2\n" in f"\n{text}", "docs/flyte2.md has no 'Flyte 2' heading"
    found = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert found, f"{page} has no python block"
    return found.group(1)


@pytest.mark.slow
def test_docs_example_runs_a_job(
    tmp_path: Path, user_env: dict[str, str], openai_client: openai.OpenAI
) -> None:
    script = tmp_path / "example.py"
    script.write_text(first_python_block(ROOT / "docs" / "flyte2.md"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=user_env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 of 5 requests succeeded" in done.stdout, done.stdout
    answers = [line for line in done.stdout.splitlines() if line.startswith('{"id"')]
    assert len(answers) == 5, done.stdout
    assert "OpenAI batch job summary: " in done.stdout
    # Nothing left on the server: the batch finished and its input file was deleted.
    assert [b.status for b in openai_client.batches.list()] == ["completed"]
    inputs = [f.id for f in openai_client.files.list() if f.purpose == "batch"]
    assert inputs == [], inputs
