"""Reproduce an image's environment without a Docker engine: its install script, its pins, its command.

Each image's install step is one script (images/<component>/install.sh) that the Dockerfile RUNs; these
helpers run that very script into a clean venv, with the pins images/matrix.json gives the image builds.
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

from tests.support.wheels import ROOT, uv

IMAGES = ROOT / "images"
VERSION = (ROOT / "VERSION").read_text().strip()


@dataclass(frozen=True)
class Matrix:
    """images/matrix.json: what images.yml builds and tags."""

    registry: str
    python: tuple[str, ...]
    flytekit: str
    uv: str
    images: dict[str, str]  # component (its folder under images/) -> image name

    def tag(self, component: str, python: str, version: str) -> str:
        return f"{self.registry}/{self.images[component]}:py{python}-{version}"


def load_matrix() -> Matrix:
    raw: dict[str, Any] = json.loads((IMAGES / "matrix.json").read_text())
    return Matrix(
        registry=raw["registry"],
        python=tuple(raw["python"]),
        flytekit=raw["flytekit"],
        uv=raw["uv"],
        images={c["name"]: c["image"] for c in raw["components"]},
    )


def dockerfile_args(component: str) -> dict[str, str]:
    """The ARG defaults of images/<component>/Dockerfile (first declaration wins, as in the build)."""
    found: dict[str, str] = {}
    for match in re.finditer(
        r"^ARG (\w+)(?:=(\S*))?$", (IMAGES / component / "Dockerfile").read_text(), re.M
    ):
        found.setdefault(match[1], match[2] or "")
    return found


def dockerfile_cmd(component: str) -> list[str]:
    """The image's CMD (exec form), which is what the pod runs when Flyte gives no command."""
    (line,) = re.findall(r"^CMD (\[.*\])$", (IMAGES / component / "Dockerfile").read_text(), re.M)
    cmd: list[str] = json.loads(line)
    return cmd


def image_env(venv: Path, home: Path) -> dict[str, str]:
    """An environment like the image's: its venv first on PATH, its own HOME, nothing of the workspace."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT", "PYTHON"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", HOME=str(home), PYTHONUNBUFFERED="1")
    return env


def run_install(
    component: str,
    venv: Path,
    *,
    wheels: Path | None,
    plugin_version: str | None = VERSION,
    flytekit_version: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run images/<component>/install.sh as the Dockerfile does, with the image's pins by default."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    env.pop("PLUGIN_VERSION", None)
    # The script finds uv on PATH, as in the image's build stage.
    env["PATH"] = f"{Path(uv()).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHON"] = sys.executable
    env["FLYTEKIT_VERSION"] = flytekit_version if flytekit_version is not None else load_matrix().flytekit
    env["WHEELS"] = str(wheels) if wheels else ""
    if plugin_version is not None:
        env["PLUGIN_VERSION"] = plugin_version
    return subprocess.run(
        ["sh", str(IMAGES / component / "install.sh"), str(venv)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def install_image(component: str, venv: Path, wheels: Path) -> Path:
    """The image's venv, from wheels built from the checkout; returns its bin folder."""
    result = run_install(component, venv, wheels=wheels)
    assert result.returncode == 0, f"install.sh failed:\n{result.stdout}\n{result.stderr}"
    return venv / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
