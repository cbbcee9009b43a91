"""The README's first commands and install commands work in a clean clone with only the system Python."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.wheels import uv

from .readme import ROOT, SYSTEM_PYTHON, commands, fresh_env, sh, system_python_bin


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean clone of this repository's committed HEAD, as a new user gets it."""
    dest = tmp_path_factory.mktemp("clone") / "repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(dest)], check=True, capture_output=True)
    return dest


def system_python_has_uv() -> bool:
    return subprocess.run([SYSTEM_PYTHON, "-c", "import uv"], capture_output=True).returncode == 0


def test_the_readme_starts_with_the_two_commands() -> None:
    first, second = commands()
    assert "examples/quickstart.py" in first
    assert "pytest" in second


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_first_command_runs_the_quick_start(clone: Path, tmp_path: Path) -> None:
    first, _ = commands(readme=clone / "README.md")
    env = fresh_env([system_python_bin(tmp_path / "bin")], UVW_CACHE_DIR=str(tmp_path / "uvw"))
    run = sh(first, clone, env)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert re.search(r"^Batch batch_\w+: completed", run.stdout, flags=re.MULTILINE), output
    if not system_python_has_uv():
        # Nothing but python3 on PATH: the wrapper installed uv itself.
        assert "uvw: installing uv" in run.stderr, output
    # The environment was made from the system Python, the only one on PATH.
    assert (clone / ".venv/bin/python").resolve() == SYSTEM_PYTHON.resolve(), output


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_second_command_collects_the_suite(clone: Path, tmp_path: Path) -> None:
    # Running the whole suite from inside the suite would recurse: collecting proves the command and
    # the environment; .ci/run runs the command in full (test below).
    _, second = commands(readme=clone / "README.md")
    env = fresh_env([system_python_bin(tmp_path / "bin")], UVW_CACHE_DIR=str(tmp_path / "uvw"))
    run = sh(f"{second} --collect-only -q", clone, env)
    assert run.returncode == 0, run.stdout + run.stderr
    # "N tests collected", or "N/M tests collected (K deselected)": image builds are deselected by default.
    assert re.search(r"^\d+(/\d+)? tests collected", run.stdout, flags=re.MULTILINE), run.stdout
    assert f"tests/workspace/{Path(__file__).name}::test_the_second_command_collects_the_suite" in run.stdout


def test_ci_runs_the_readme_test_command_as_written() -> None:
    _, second = commands()
    lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    assert any(line.endswith(second) and not line.startswith("#") for line in lines), (
        f".ci/run does not run the README's test command {second!r}"
    )


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_install_commands_build_and_install_the_plugin(clone: Path, tmp_path: Path) -> None:
    build, install = commands("## Install", readme=clone / "README.md")
    # The user's virtual environment, made from the system Python, with pip in it.
    venv = tmp_path / "venv"
    subprocess.run(
        [uv(), "venv", "--quiet", "--seed", "--python", str(SYSTEM_PYTHON), str(venv)],
        check=True,
        capture_output=True,
    )
    env = fresh_env([venv / "bin", system_python_bin(tmp_path / "bin")], UVW_CACHE_DIR=str(tmp_path / "uvw"))
    for command in (build, install):
        run = sh(command, clone, env)
        assert run.returncode == 0, f"{command}\n{run.stdout}{run.stderr}"
    check = (
        "from importlib.metadata import version\n"
        "from flytekitplugins.openai import BatchEndpointConnector, create_batch\n"
        "import flytekitplugins.openai.files\n"
        "print(*(version(p) for p in ('flytekitplugins-openai', 'flytekitplugins-openai-batch', "
        "'flytekitplugins-openai-files')))\n"
    )
    run = subprocess.run(
        [str(venv / "bin/python"), "-I", "-c", check], capture_output=True, text=True, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    version = (ROOT / "VERSION").read_text().strip()
    assert run.stdout.split() == [version] * 3
