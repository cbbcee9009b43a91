"""What the images are made of (images/matrix.json, the Dockerfile, install.sh) and their venv stand-ins.

The images are targets of one Dockerfile whose install step is one script (images/install.sh). Without a
container engine, these helpers run that very script into a clean venv, with the pins images/matrix.json
gives the image builds, and run the image's commands from that venv (tests/images/container.py builds
and runs the real images).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.files.pod import Launch
from tests.support.wheels import ROOT, uv

IMAGES = ROOT / "images"
DOCKERFILE = IMAGES / "Dockerfile"
VERSION = (ROOT / "VERSION").read_text().strip()


@dataclass(frozen=True)
class Matrix:
    """images/matrix.json: what images.yml builds and tags."""

    registry: str
    python: tuple[str, ...]
    flytekit: str
    flyte: str  # the Flyte 2 connector image's pin
    uv: str
    images: dict[str, str]  # component (its Dockerfile target) -> image name

    def tag(self, target: str, python: str, version: str) -> str:
        return f"{self.registry}/{self.images[target]}:py{python}-{version}"


def load_matrix() -> Matrix:
    raw: dict[str, Any] = json.loads((IMAGES / "matrix.json").read_text())
    return Matrix(
        registry=raw["registry"],
        python=tuple(raw["python"]),
        flytekit=raw["flytekit"],
        flyte=raw["flyte"],
        uv=raw["uv"],
        images={c["target"]: c["image"] for c in raw["components"]},
    )


TARGETS = tuple(load_matrix().images)


def dockerfile_args() -> dict[str, str]:
    """The Dockerfile's global ARG defaults (those before the first FROM), which every stage inherits."""
    preamble = re.split(r"^FROM ", DOCKERFILE.read_text(), maxsplit=1, flags=re.M)[0]
    return {m[1]: m[2] or "" for m in re.finditer(r"^ARG (\w+)(?:=(\S*))?$", preamble, re.M)}


def dockerfile_stages() -> dict[str, str]:
    """Each named stage of the Dockerfile (its name -> its text, FROM line included)."""
    parts = re.split(r"^(?=FROM )", DOCKERFILE.read_text(), flags=re.M)[1:]
    stages: dict[str, str] = {}
    for part in parts:
        match = re.match(r"FROM \S+ AS (\S+)$", part, re.M)
        assert match, f"every stage is named: {part.splitlines()[0]}"
        stages[match[1]] = part
    return stages


def dockerfile_cmd(target: str) -> list[str] | None:
    """The target's own CMD (exec form), which is what the pod runs when it is given no command."""
    found = re.findall(r"^CMD (\[.*\])$", dockerfile_stages()[target], re.M)
    if not found:
        return None
    (line,) = found
    cmd: list[str] = json.loads(line)
    return cmd


def run_install(
    target: str,
    venv: Path,
    *,
    wheels: Path | None,
    plugin_version: str | None = VERSION,
    flytekit_version: str | None = None,
    flyte_version: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run images/install.sh for one target as the Dockerfile does, with the image's pins by default."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    env.pop("PLUGIN_VERSION", None)
    # The script finds uv on PATH, as in the image's build stage.
    env["PATH"] = f"{Path(uv()).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHON"] = sys.executable
    env["FLYTEKIT_VERSION"] = flytekit_version if flytekit_version is not None else load_matrix().flytekit
    env["FLYTE_VERSION"] = flyte_version if flyte_version is not None else load_matrix().flyte
    env["WHEELS"] = str(wheels) if wheels else ""
    if plugin_version is not None:
        env["PLUGIN_VERSION"] = plugin_version
    return subprocess.run(
        ["sh", str(IMAGES / "install.sh"), target, str(venv)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def install_venv(target: str, venv: Path, wheels: Path) -> Path:
    """The target's venv, from wheels built from the checkout."""
    result = run_install(target, venv, wheels=wheels)
    assert result.returncode == 0, f"install.sh failed:\n{result.stdout}\n{result.stderr}"
    return venv


def in_venv(venv: Path) -> Launch:
    """Runs an image's command from its venv: the venv first on PATH, nothing of the workspace."""

    def launch(command: list[str], env: dict[str, str], workdir: Path) -> tuple[list[str], dict[str, str]]:
        process_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT", "PYTHON"))
        }
        process_env.update(
            PATH=f"{venv / 'bin'}{os.pathsep}{process_env.get('PATH', '')}",
            HOME=str(workdir),
            PYTHONUNBUFFERED="1",
            **env,
        )
        executable = venv / "bin" / command[0]
        assert executable.exists(), f"the image's venv has no {command[0]}"
        return [str(executable), *command[1:]], process_env

    return launch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
