"""A STAND-IN for the official `python:3.11-slim` base image, made here from Debian's packages.

No container registry is reachable on this kind of machine (only PyPI, Debian's archive and npm), so
the Dockerfile's base cannot be pulled. debootstrap makes a Debian root file system instead, with
Debian's Python 3.11 where the official image has its own (`/usr/local/bin/python`, pip allowed to
install), and with this machine's CA bundle and package-index settings, so that pip and uv in the
build reach the index as this machine does. It is stored under the official name in the image tests'
own container storage (nowhere else) so the unchanged Dockerfile builds on it, and labelled as what it is.

What builds on it is checked for real: everything the Dockerfile and install.sh do above the base.
What it cannot check: the official base image itself, the other Pythons, other architectures; only
images.yml's registry build does.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.images.buildah import Buildah

SUITE = "bookworm"  # its python3 is 3.11
PYTHON = "3.11"
IMAGE = f"docker.io/library/python:{PYTHON}-slim"
PACKAGES = ("python3", "python3-pip", "ca-certificates")
# Bump when the recipe below changes, so a cached stand-in of the old recipe is made anew.
RECIPE = "1"
LABEL = "org.flytekitplugins-openai.stand-in"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def debian_mirror() -> str:
    """The Debian archive this machine's apt uses for SUITE's main component (apt's own view of it)."""
    policy = subprocess.run(["apt-cache", "policy"], capture_output=True, text=True, check=True).stdout
    for url, suite, release in re.findall(
        r"^\s*\d+ (\S+) (\S+)/main \S+ Packages\n\s+release (\S+)", policy, re.M
    ):
        fields = dict(f.split("=", 1) for f in release.split(",") if "=" in f)
        if fields.get("o") == "Debian" and suite == SUITE:
            return str(url)
    raise RuntimeError(
        f"apt knows no Debian archive for {SUITE}/main (`apt-cache policy`): the stand-in base needs one"
    )


def pip_index_config() -> str:
    """pip.conf for the stand-in: the package indexes this machine's pip uses that a build can reach.

    Read from pip's own files and variables (the test environment has no pip to ask). Local `file://`
    indexes and find-links are folders on this machine, not in the build: they stay out.
    """
    files = [Path(d) / "pip" / "pip.conf" for d in os.environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(":")]
    files += [
        Path("/etc/pip.conf"),
        Path.home() / ".pip" / "pip.conf",
        Path.home() / ".config" / "pip" / "pip.conf",
    ]
    if os.environ.get("PIP_CONFIG_FILE"):
        files.append(Path(os.environ["PIP_CONFIG_FILE"]))
    parser = configparser.ConfigParser(interpolation=None)
    parser.read([f for f in files if f.is_file()])
    settings: dict[str, list[str]] = {}
    for key in ("index-url", "extra-index-url"):
        values = [
            parser.get(section, key) for section in ("global", "install") if parser.has_option(section, key)
        ]
        values.append(os.environ.get(f"PIP_{key.upper().replace('-', '_')}", ""))
        urls = [url for value in values for url in value.split() if url.startswith(("http://", "https://"))]
        if urls:
            settings[key] = list(dict.fromkeys(urls))
    if "index-url" in settings:
        # pip takes one index-url, the last one it reads winning.
        settings["index-url"] = settings["index-url"][-1:]
    return "[global]\n" + "".join(f"{key} = {' '.join(urls)}\n" for key, urls in settings.items())


def uv_index_config() -> str:
    """uv.toml for the stand-in: the index settings this machine's uv takes from its environment and files."""
    parts: list[str] = []
    config_home = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    for path in (Path("/etc/uv/uv.toml"), config_home / "uv" / "uv.toml"):
        if path.is_file():
            parts.append(path.read_text())
    for variable, key in (("UV_DEFAULT_INDEX", "index-url"), ("UV_INDEX_URL", "index-url")):
        if os.environ.get(variable):
            parts.append(f"{key} = {json.dumps(os.environ[variable])}\n")
    extra = " ".join(os.environ.get(v, "") for v in ("UV_INDEX", "UV_EXTRA_INDEX_URL")).split()
    if extra:
        parts.append(f"extra-index-url = {json.dumps(extra)}\n")
    return "".join(parts)


def recipe() -> dict[str, str]:
    """Everything the stand-in is made from; a change to any of it makes it anew."""
    bundle = Path(os.environ.get("SSL_CERT_FILE") or CA_BUNDLE)
    return {
        "recipe": RECIPE,
        "suite": SUITE,
        "packages": ",".join(PACKAGES),
        "mirror": debian_mirror(),
        "ca-bundle": hashlib.sha256(bundle.read_bytes()).hexdigest(),
        "pip.conf": pip_index_config(),
        "uv.toml": uv_index_config(),
    }


def ensure_stand_in(buildah: Buildah, workdir: Path) -> str:
    """The stand-in base in `buildah`'s storage, made unless the one there has today's recipe."""
    wanted = recipe()
    key = hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:16]
    if buildah.image_exists(IMAGE) and buildah.label(IMAGE, LABEL) == key:
        return IMAGE

    rootfs = workdir / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    log = workdir / "debootstrap.log"
    with open(log, "w") as out:
        made = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(rootfs),
                wanted["mirror"],
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=1200,
            check=False,
        )
    if made.returncode:
        raise RuntimeError(f"debootstrap failed ({made.returncode}):\n{log.read_text()[-4000:]}")

    # As the official slim image: no package lists or downloaded packages, Python and pip in /usr/local/bin.
    for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for path in (rootfs / leftover).glob("*"):
            if path.is_file():
                path.unlink()
    (rootfs / f"usr/lib/python{PYTHON}/EXTERNALLY-MANAGED").unlink(missing_ok=True)
    for name, target in (("python", "python3"), ("python3", "python3"), ("pip", "pip3"), ("pip3", "pip3")):
        link = rootfs / "usr/local/bin" / name
        link.unlink(missing_ok=True)
        link.symlink_to(f"/usr/bin/{target}")
    # This machine's network: its CA bundle (the index may be reached through a proxy with its own CA)
    # and its index settings for pip (which installs uv) and uv (which installs the venv).
    shutil.copyfile(Path(os.environ.get("SSL_CERT_FILE") or CA_BUNDLE), rootfs / CA_BUNDLE.lstrip("/"))
    (rootfs / "etc/pip.conf").write_text(wanted["pip.conf"])
    if wanted["uv.toml"]:
        (rootfs / "etc/uv").mkdir(exist_ok=True)
        (rootfs / "etc/uv/uv.toml").write_text(wanted["uv.toml"])

    archive = workdir / "rootfs.tar"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(archive), "."], check=True, timeout=600)
    shutil.rmtree(rootfs)
    buildah.remove_image(IMAGE)
    container = buildah("from", "scratch").strip()
    try:
        buildah("add", container, str(archive), "/")
        buildah(
            "config",
            "--env", "PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--env", "LANG=C.UTF-8",
            "--env", f"SSL_CERT_FILE={CA_BUNDLE}",
            "--cmd", "python3",
            "--label", f"{LABEL}={key}",
            "--label", f"org.opencontainers.image.description=stand-in for python:{PYTHON}-slim: Debian {SUITE}"
            " from debootstrap, made by tests/images",
            container,
        )  # fmt: skip
        buildah("commit", "--quiet", container, IMAGE)
    finally:
        buildah("rm", container)
        archive.unlink()
    return IMAGE
