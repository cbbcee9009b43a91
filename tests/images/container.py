"""The real images: built with buildah from the checkout's wheels as images.yml builds them, and run.

The base image is the stand-in of tests/images/stand_in.py (no registry is reachable here); the rest is
the Dockerfile, build contexts and build arguments images.yml uses, so each image is the one a release
would push, above its base.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.files.pod import Launch
from tests.images.buildah import CACHE, Buildah
from tests.images.stand_in import PYTHON, ensure_stand_in
from tests.images.workflow import image_build
from tests.support.wheels import locked

# Marks the images these tests build with their test session; a session removes those of sessions that
# no longer run (each running session holds a lock in RUNS).
TEST_LABEL = "org.flytekitplugins-openai.test-run"
RUNS = CACHE / "runs"


@dataclass(frozen=True)
class BuiltImage:
    target: str
    tag: str
    base: str
    python: str
    seconds: float


@contextmanager
def running(run: str) -> Iterator[None]:
    """Marks test session `run` as running while in it (a shared lock, held by each of its processes), so
    that another session on this machine leaves its images alone."""
    RUNS.mkdir(parents=True, exist_ok=True)
    with open(RUNS / f"{run}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        yield


def is_running(run: str) -> bool:
    with open(RUNS / f"{run}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def prepare(buildah: Buildah, shared: Path) -> str:
    """Once per test session, before its first build: the stand-in base (made once per machine), and
    the images of earlier sessions that no longer run removed. Returns the base."""
    with locked(shared / "prepare.lock"):
        with locked(CACHE / "stand-in.lock"):
            base = ensure_stand_in(buildah, CACHE)
        done = shared / "prepared"
        if not done.exists():
            with locked(CACHE / "prune.lock"):
                others = {p.stem for p in RUNS.glob("*.lock")} - {shared.name}
                active = {run for run in others if is_running(run)}
                for old in buildah.images_labelled(TEST_LABEL):
                    if buildah.label(old, TEST_LABEL) not in active | {shared.name}:
                        buildah.remove_image(old)
                if not active:
                    buildah("rmi", "--prune")  # stages of builds that were stopped half way
                for run in others - active:
                    (RUNS / f"{run}.lock").unlink(missing_ok=True)
            done.touch()
        return base


def build_image(buildah: Buildah, target: str, wheels: Path, shared: Path) -> BuiltImage:
    """`target` built once per test session (shared by its xdist workers) from `wheels`."""
    run = shared.name  # pytest's numbered session folder
    record = shared / f"image-{target}.json"
    with locked(shared / f"image-{target}.lock"):
        if record.exists():
            return BuiltImage(**json.loads(record.read_text()))
        base = prepare(buildah, shared)
        build = image_build(target, PYTHON, wheels)
        tag = f"localhost/flytekitplugins-openai-test/{target}:{run}"
        started = time.monotonic()
        buildah.build(
            build.context,
            target=build.target,
            args=build.build_args,
            contexts=build.build_contexts,
            tag=tag,
            labels={TEST_LABEL: run},
            log=shared / f"build-{target}.log",
        )
        built = BuiltImage(target, tag, base, PYTHON, round(time.monotonic() - started, 1))
        record.write_text(json.dumps(asdict(built)))
        return built


@contextmanager
def working_container(buildah: Buildah, image: str) -> Iterator[str]:
    """A container of `image` to run commands in; removed afterwards."""
    container = buildah("from", "--pull-never", image).strip()
    try:
        yield container
    finally:
        buildah("rm", container)


def in_container(buildah: Buildah, container: str, shared: Path) -> Launch:
    """Runs an image's command in `container`, as its image's user, working folder and environment, with
    `shared` (the test's folder: the pod's inputs and outputs) at the same path inside, host loopback."""

    def launch(command: list[str], env: dict[str, str], workdir: Path) -> tuple[list[str], dict[str, str]]:
        assert workdir.is_relative_to(shared), f"{workdir} is not in the folder the container sees"
        # The image's user (1000) writes the pod's outputs there.
        for folder, dirs, files in os.walk(shared):
            for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                os.chown(name, 1000, 1000, follow_symlinks=False)
        return buildah.run(container, command, env=env, volumes=[shared]), dict(os.environ)

    return launch


def added_paths(buildah: Buildah, image: str, base: str) -> dict[str, int]:
    """What `image` has that `base` has not: each added path, with its size in bytes."""
    with working_container(buildah, base) as below, working_container(buildah, image) as above:
        base_root = Path(buildah("mount", below).strip())
        image_root = Path(buildah("mount", above).strip())
        try:
            known = {str(p.relative_to(base_root)) for p in base_root.rglob("*")}
            return {
                "/" + str(path.relative_to(image_root)): path.lstat().st_size
                for path in image_root.rglob("*")
                if str(path.relative_to(image_root)) not in known
            }
        finally:
            buildah("umount", above)
            buildah("umount", below)
