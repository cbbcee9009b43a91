"""The images under test, each in two places: its venv stand-in and the real image.

`files_image`, `agent_image` and `flyte2_image` give each test the image's command and a way to run commands in it
(a `Launch`, as tests/files/pod.py takes). The `venv` variant runs install.sh into a clean venv (quick,
in the default run); the `container` variant builds the image with buildah and runs in it (marked
`container`: deselected by default, run by its own .ci/run step). Under CI=true a container test that
cannot run fails instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _pytest.terminal import TerminalReporter

from tests.files.pod import Launch
from tests.images.buildah import Buildah, cannot_build
from tests.images.container import BuiltImage, build_image, in_container, running, working_container
from tests.images.image_env import dockerfile_cmd, in_venv, install_venv

# A build on a busy machine takes minutes, and the first test to use an image waits for it.
BUILD_TIMEOUT = pytest.mark.timeout(1800)
# Slow too, so the fast tier (`-m "not slow"`, which replaces the default `-m "not container"`) builds nothing.
PLACES = ["venv", pytest.param("container", marks=[pytest.mark.container, pytest.mark.slow, BUILD_TIMEOUT])]
REPORTED = "image"  # the user property the terminal summary lists


@dataclass(frozen=True)
class Image:
    target: str
    cmd: list[str] | None  # the command the image runs when given none
    launch: Launch


@pytest.fixture(scope="session")
def buildah() -> Buildah:
    problem = cannot_build()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the image tests cannot run in CI: {problem}")
        pytest.skip(problem)
    return Buildah.on_this_machine()


@pytest.fixture(scope="session")
def built_image(
    buildah: Buildah, plugin_wheels: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], BuiltImage]]:
    """Builds a target once per session (the first test to ask waits for it), shared by xdist workers."""
    basetemp = tmp_path_factory.getbasetemp()
    shared = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    with running(shared.name):
        yield lambda target: build_image(buildah, target, plugin_wheels, shared)


def image_in(request: pytest.FixtureRequest, target: str, tmp_path: Path) -> Iterator[Image]:
    if request.param == "venv":
        venv = install_venv(target, tmp_path / "venv", request.getfixturevalue("plugin_wheels"))
        yield Image(target, dockerfile_cmd(target), in_venv(venv))
        return
    buildah: Buildah = request.getfixturevalue("buildah")
    built: BuiltImage = request.getfixturevalue("built_image")(target)
    with working_container(buildah, built.tag) as container:
        yield Image(target, buildah.config(built.tag).get("Cmd"), in_container(buildah, container, tmp_path))


@pytest.fixture(params=PLACES)
def files_image(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Image]:
    yield from image_in(request, "files", tmp_path)


@pytest.fixture(params=PLACES)
def agent_image(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Image]:
    yield from image_in(request, "agent", tmp_path)


@pytest.fixture(params=PLACES)
def flyte2_image(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Image]:
    yield from image_in(request, "flyte2", tmp_path)


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    """The images' sizes and build times, which the tests record, at the end of the run's output."""
    lines = [
        str(value)
        for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", [])
        for name, value in getattr(report, "user_properties", [])
        if name == REPORTED
    ]
    if lines:
        terminalreporter.section("images")
        for line in sorted(lines):
            terminalreporter.line(line)
