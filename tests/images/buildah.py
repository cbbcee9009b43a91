"""buildah, as the image tests use it: root, chroot isolation, a container storage of their own.

This kind of machine runs no container engine; Debian's buildah builds a Dockerfile and runs what it
built without one, as root, with `--isolation chroot`. The tests keep their images in a storage of
their own under /var/cache, so the stand-in base made once is kept between runs on the same machine
and nothing else's images are touched. Its driver is `overlay` where the kernel and file system take
it (a container shares its image's layers) and `vfs` elsewhere (a full copy per layer and container:
slower, but it works everywhere).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE = Path("/var/cache/flytekitplugins-openai/images")
RUNROOT = "/run/flytekitplugins-openai-images"
TOOLS = {"buildah": "buildah", "debootstrap": "debootstrap"}  # command -> the Debian package that has it


def missing_tools() -> list[str]:
    return [package for command, package in TOOLS.items() if not shutil.which(command)]


def cannot_build() -> str | None:
    """Why the images cannot be built here, or None; installs buildah and debootstrap from Debian's
    packages when they are missing."""
    if os.geteuid() != 0:
        return "building the images needs root (buildah with chroot isolation, debootstrap)"
    missing = missing_tools()
    if not missing:
        return None
    if not shutil.which("apt-get"):
        return f"no apt-get to install {', '.join(missing)} with"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode:
            return f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    return None


@dataclass(frozen=True)
class Buildah:
    driver: str  # the storage driver; each has its own storage

    def command(self, *args: str) -> list[str]:
        storage = ["--root", str(CACHE / f"storage-{self.driver}"), "--runroot", f"{RUNROOT}-{self.driver}"]
        return ["buildah", "--storage-driver", self.driver, *storage, *args]

    @classmethod
    def on_this_machine(cls) -> Buildah:
        """With overlay storage if this machine takes it (buildah tries it as it opens the storage), else vfs."""
        overlay = cls("overlay")
        if subprocess.run(overlay.command("images"), capture_output=True, timeout=120).returncode == 0:
            return overlay
        return cls("vfs")

    def __call__(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            self.command(*args), capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode:
            raise RuntimeError(f"buildah {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
        return done.stdout

    def image_exists(self, image: str) -> bool:
        found = subprocess.run(self.command("inspect", "--type", "image", image), capture_output=True)
        return found.returncode == 0

    def inspect(self, image: str) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self("inspect", "--type", "image", image))
        return found

    def config(self, image: str) -> dict[str, Any]:
        """The image's OCI config (User, Env, Cmd, WorkingDir, Labels, ExposedPorts)."""
        found: dict[str, Any] = self.inspect(image)["OCIv1"]["config"]
        return found

    def label(self, image: str, name: str) -> str | None:
        labels: dict[str, str] = self.config(image).get("Labels") or {}
        return labels.get(name)

    def size(self, image: str) -> int:
        """The image's size unpacked: its layers (uncompressed tars in local storage) added up."""
        manifest = json.loads(self.inspect(image)["Manifest"])
        return sum(int(layer["size"]) for layer in manifest["layers"])

    def images_labelled(self, name: str) -> list[str]:
        listed = json.loads(self("images", "--json", "--filter", f"label={name}") or "[]")
        return [image["id"] for image in listed]

    def remove_image(self, image: str) -> None:
        subprocess.run(self.command("rmi", "--force", image), capture_output=True, check=False)

    def build(
        self,
        context: Path,
        *,
        target: str,
        args: dict[str, str],
        contexts: dict[str, Path],
        tag: str,
        labels: dict[str, str],
        log: Path,
    ) -> None:
        """`buildah build` of one target, as a registry build would (only the base image is local)."""
        command = self.command(
            "build", "--isolation", "chroot", "--pull=never", "--target", target, "--tag", tag
        )
        command += [f"--build-arg={k}={v}" for k, v in args.items()]
        command += [f"--build-context={k}={v}" for k, v in contexts.items()]
        command += [f"--label={k}={v}" for k, v in labels.items()]
        with open(log, "w") as out:
            done = subprocess.run(
                [*command, str(context)], stdout=out, stderr=subprocess.STDOUT, timeout=1800
            )
        if done.returncode:
            raise RuntimeError(f"building {target} failed ({done.returncode}):\n{log.read_text()[-6000:]}")

    def run(
        self, container: str, command: Sequence[str], *, env: dict[str, str], volumes: Sequence[Path] = ()
    ) -> list[str]:
        """The command line that runs `command` in `container` as its image would: its user, working folder
        and environment, plus `env`; each of `volumes` is mounted at its own path; host networking."""
        line = self.command("run", "--isolation", "chroot")
        line += [f"--volume={v}:{v}" for v in volumes]
        line += [f"--env={k}={v}" for k, v in env.items()]
        return [*line, container, "--", *command]
