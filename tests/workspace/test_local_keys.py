"""docs/keys.md's "Keys for a local run": the variables it names are the ones each step reads."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from openai_batch_emulator import Emulator

from .readme import ROOT, commands

pytestmark = pytest.mark.slow

KEY = "sk-proj-fake-localkeys-0123456789abcdefghijkl"


def readme_keys_and_command() -> tuple[list[str], list[str]]:
    """The variables the page exports, and the pyflyte command it runs with them."""
    export, run = commands("## Keys for a local run", readme=ROOT / "docs" / "keys.md")
    names = re.findall(r"(\w+)=sk-\.\.\.", export)
    argv = shlex.split(run, comments=True)
    assert argv[:3] == ["./uvw", "run", "--frozen"], run
    return names, argv[3:]


@pytest.fixture
def keyed_emulator(tmp_path: Path) -> Iterator[Emulator]:
    # Only KEY is accepted, so a step that found no key, or another one, cannot pass.
    with Emulator(data_dir=tmp_path / "emulator", api_key=KEY) as running:
        yield running


def pyflyte_run(emulator: Emulator, variables: list[str]) -> subprocess.CompletedProcess[str]:
    _, argv = readme_keys_and_command()
    assert argv[0] == "pyflyte"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "_FSEC_", "FLYTE_OPENAI"))}
    env |= {name: KEY for name in variables} | {"OPENAI_BASE_URL": emulator.base_url}
    return subprocess.run(
        [str(Path(sys.executable).parent / "pyflyte"), *argv[1:]],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_page_names_one_variable_per_step() -> None:
    names, _ = readme_keys_and_command()
    assert names == ["OPENAI_API_KEY", "FLYTE_OPENAI_API_KEY"]


@pytest.mark.timeout(600)
def test_the_page_variables_are_enough(keyed_emulator: Emulator) -> None:
    names, _ = readme_keys_and_command()
    run = pyflyte_run(keyed_emulator, names)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"job-output\.jsonl", run.stdout), run.stdout
    assert "Round 1: 10 requests: 10 succeeded" in run.stdout, run.stdout


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("missing", "message"),
    [
        # The upload step reads the Flyte secret Secret(group="openai", key="api_key").
        ("OPENAI_API_KEY", "The OpenAI API key secret (group='openai', key='api_key') is not available"),
        # The batch step (the connector, in-process) reads its own secret.
        ("FLYTE_OPENAI_API_KEY", "secret FLYTE_OPENAI_API_KEY is not set"),
    ],
)
def test_each_step_needs_its_variable(keyed_emulator: Emulator, missing: str, message: str) -> None:
    names, _ = readme_keys_and_command()
    run = pyflyte_run(keyed_emulator, [name for name in names if name != missing])
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert message in " ".join(output.split()), output
    assert KEY not in output
