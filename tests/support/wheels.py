"""Build the workspace's wheels once per test session and install them into clean venvs.

Building is slow, so the first xdist worker to get the lock builds into a shared folder and the
others reuse it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ("flytekitplugins-openai-files", "flytekitplugins-openai-batch", "flytekitplugins-openai")
# As release.yml builds what it publishes (and images.yml what the images install); tests/images checks.
BUILD_COMMAND = ("build", "--all-packages", "--no-sources")


def uv() -> str:
    # `uv run` tells its children where it is; otherwise look on PATH.
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        raise RuntimeError("uv is not on PATH; install it with `python3 -m pip install uv`")
    return found


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Holds an exclusive lock on `path` (made if missing), so one process of several does a shared job."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def built_wheels(shared_dir: Path) -> Path:
    """Wheels (and sdists) of every workspace package, built as a user would: `--no-sources`."""
    out = shared_dir / "dist"
    done = shared_dir / "dist.done"
    with locked(shared_dir / "dist.lock"):
        if not done.exists():
            shutil.rmtree(out, ignore_errors=True)
            subprocess.run(
                [uv(), *BUILD_COMMAND, "--out-dir", str(out)],
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            )
            done.touch()
    return out


def wheel_for(dist: Path, project: str) -> Path:
    stem = project.replace("-", "_")
    (found,) = [p for p in dist.glob(f"{stem}-*.whl") if p.name.split("-")[0] == stem]
    return found


def wheel_metadata(wheel: Path) -> Message:
    """The wheel's METADATA: what pip sees (Version, Requires-Dist, ...)."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(archive.read(name).decode())


def clean_venv(path: Path, python: str | None = None) -> Path:
    """A venv outside the workspace, so nothing resolves through the workspace's sources."""
    cmd = [uv(), "venv", "--quiet", str(path)]
    if python:
        cmd += ["--python", python]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return path / "bin" / "python"


def pip_install(python: Path, *requirements: str, find_links: Path | None = None) -> None:
    cmd = [uv(), "pip", "install", "--quiet", "--python", str(python)]
    if find_links:
        cmd += ["--find-links", str(find_links)]
    env = {**os.environ, "VIRTUAL_ENV": str(python.parent.parent)}
    env.pop("UV_PROJECT_ENVIRONMENT", None)
    result = subprocess.run([*cmd, *requirements], capture_output=True, text=True, env=env, cwd=python.parent)
    if result.returncode:
        raise AssertionError(f"install failed:\n{result.stdout}\n{result.stderr}")
