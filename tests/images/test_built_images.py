"""The built images themselves: the user they run as, what they add to their base, their size."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.images.buildah import Buildah
from tests.images.conftest import BUILD_TIMEOUT, REPORTED
from tests.images.container import BuiltImage, added_paths, working_container
from tests.images.image_env import TARGETS

pytestmark = [pytest.mark.container, pytest.mark.slow, BUILD_TIMEOUT]

# All a runtime stage may add to its base: the venv, the user with its home, and what buildah's RUN leaves.
ADDED_TREES = ("/opt/venv", "/home/flyte")
ADDED_FILES = {
    "/etc/shadow-", "/etc/gshadow-", "/etc/subuid-", "/etc/subgid-",  # useradd's backups
    "/etc/hosts",  # buildah's RUN writes it (a pod gets its own from the kubelet)
}  # fmt: skip
BUILD_TOOLS = ("uv", "uvx", "gcc", "cc", "make")


def run_in(buildah: Buildah, image: str, *command: str) -> subprocess.CompletedProcess[str]:
    with working_container(buildah, image) as container:
        line = buildah.run(container, command, env={})
        return subprocess.run(line, capture_output=True, text=True, timeout=120, check=False)


def megabytes(size: int) -> str:
    return f"{size / 1e6:.0f} MB"


@pytest.mark.parametrize("target", TARGETS)
def test_image_runs_as_user_1000(
    target: str, buildah: Buildah, built_image: Callable[[str], BuiltImage]
) -> None:
    image = built_image(target).tag
    assert buildah.config(image)["User"] == "1000:1000"
    who = run_in(buildah, image, "id")
    assert who.returncode == 0, who.stderr
    assert who.stdout.startswith("uid=1000(flyte) gid=1000(flyte)")


@pytest.mark.parametrize("target", TARGETS)
def test_image_leaves_build_tools_and_caches_behind(
    target: str,
    buildah: Buildah,
    built_image: Callable[[str], BuiltImage],
    record_property: Callable[[str, object], None],
) -> None:
    built = built_image(target)
    added = added_paths(buildah, built.tag, built.base)
    venv = sum(size for path, size in added.items() if path.startswith("/opt/venv/"))
    record_property(
        REPORTED,
        f"{target}: {megabytes(buildah.size(built.tag))} unpacked: the {megabytes(buildah.size(built.base))}"
        f" stand-in base, a {megabytes(venv)} venv and the user; python {built.python}, built in {built.seconds:.0f} s",
    )

    unexpected = [
        path
        for path in added
        if path not in ADDED_FILES and not any(path == t or path.startswith(f"{t}/") for t in ADDED_TREES)
    ]
    assert sorted(unexpected) == []
    leftovers = [
        p for p in added if Path(p).name in {"uv", "pip", "pip3"} or p.endswith(".whl") or "/.cache" in p
    ]
    assert leftovers == []
    on_path = run_in(
        buildah, built.tag, "sh", "-c", f"for t in {' '.join(BUILD_TOOLS)}; do command -v $t; done"
    )
    assert on_path.stdout == ""


@pytest.mark.parametrize("target", ["agent", "flyte2"])
def test_connector_image_exposes_the_ports_its_command_serves(
    target: str, buildah: Buildah, built_image: Callable[[str], BuiltImage]
) -> None:
    config = buildah.config(built_image(target).tag)
    cmd = config["Cmd"]
    served = {cmd[cmd.index(option) + 1] + "/tcp" for option in ("--port", "--prometheus_port")}
    assert set(config["ExposedPorts"]) == served
