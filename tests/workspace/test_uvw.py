"""`./uvw` finds a recent enough uv, or installs the pinned one: with pip, or from the index without pip.

The index is a loopback server holding a wheel made of the uv that runs this suite, laid out as PyPI
lays out uv's wheels, so the pip-less install runs for real without the internet.
"""

from __future__ import annotations

import hashlib
import platform
import re
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.wheels import uv

from .readme import ROOT, SYSTEM_PYTHON, fresh_env, system_python_bin

UVW = ROOT / "uvw"


def pinned_version() -> str:
    match = re.search(r'^UV_VERSION = "(.+)"$', UVW.read_text(), flags=re.MULTILINE)
    assert match, "uvw pins no UV_VERSION"
    return match.group(1)


PINNED = pinned_version()


def this_machines_tags() -> list[str]:
    """uv's wheel platform tags that fit this machine, as PyPI names them."""
    machine = platform.machine()
    if platform.system() == "Darwin":
        return ["macosx_11_0_arm64" if machine == "arm64" else "macosx_10_12_x86_64"]
    if platform.libc_ver()[0] == "glibc":
        return [f"manylinux_2_17_{machine}.manylinux2014_{machine}"]
    return [f"musllinux_1_1_{machine}"]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A PEP 503 index on loopback with a uv wheel for this machine; yields (index URL, its folder)."""
    root = tmp_path / "index"
    (root / "simple/uv").mkdir(parents=True)
    (root / "files").mkdir()
    real_uv = Path(uv())
    links = []
    for tag in this_machines_tags():
        name = f"uv-{PINNED}-py3-none-{tag}.whl"
        with zipfile.ZipFile(root / "files" / name, "w") as wheel:
            wheel.write(real_uv, f"uv-{PINNED}.data/scripts/uv")
            uvx = real_uv.with_name("uvx")
            wheel.write(uvx if uvx.exists() else real_uv, f"uv-{PINNED}.data/scripts/uvx")
        digest = hashlib.sha256((root / "files" / name).read_bytes()).hexdigest()
        links.append(f'<a href="../../files/{name}#sha256={digest}">{name}</a>')
    # A wheel for another machine, listed first: it must not be picked.
    links.insert(0, f'<a href="../../files/x.whl#sha256={"0" * 64}">uv-{PINNED}-py3-none-win_amd64.whl</a>')
    (root / "simple/uv/index.html").write_text("<html><body>\n" + "\n".join(links) + "\n</body></html>\n")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple", root
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
def python_without_pip(tmp_path: Path) -> Path:
    """A bin folder whose python3 has neither pip nor uv: a venv of the system Python, made without pip."""
    venv = tmp_path / "nopip"
    subprocess.run([uv(), "venv", "--quiet", "--python", str(SYSTEM_PYTHON), str(venv)], check=True)
    assert subprocess.run([venv / "bin/python3", "-c", "import pip"], capture_output=True).returncode
    return venv / "bin"


def uvw(*args: str, path: list[Path], cache: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = fresh_env(path, UVW_CACHE_DIR=str(cache), **extra)
    return subprocess.run([str(UVW), *args], env=env, capture_output=True, text=True, cwd=ROOT, timeout=600)


@pytest.mark.slow
def test_without_pip_it_installs_the_wheel_from_the_index_once(
    index: tuple[str, Path], python_without_pip: Path, tmp_path: Path
) -> None:
    url, _ = index
    cache = tmp_path / "cache"
    first = uvw("--version", path=[python_without_pip], cache=cache, PIP_INDEX_URL=url)
    assert first.returncode == 0, first.stderr
    assert f"uvw: installing uv {PINNED}" in first.stderr
    assert first.stdout.startswith("uv ")
    installed = cache / f"uv-{PINNED}/bin"
    assert installed.joinpath("uv").read_bytes() == Path(uv()).read_bytes()
    assert sorted(p.name for p in cache.iterdir()) == [f"uv-{PINNED}"]  # no staging folder left
    again = uvw("--version", path=[python_without_pip], cache=cache, PIP_INDEX_URL=url)
    assert again.returncode == 0, again.stderr
    assert "installing" not in again.stderr
    assert again.stdout == first.stdout


@pytest.mark.slow
def test_a_wheel_that_does_not_match_its_sha256_is_refused(
    index: tuple[str, Path], python_without_pip: Path, tmp_path: Path
) -> None:
    url, root = index
    for wheel in (root / "files").glob("*.whl"):
        wheel.write_bytes(wheel.read_bytes() + b"tampered")
    cache = tmp_path / "cache"
    run = uvw("--version", path=[python_without_pip], cache=cache, PIP_INDEX_URL=url)
    assert run.returncode == 1
    assert "does not match the index's sha256" in run.stderr
    assert "Traceback" not in run.stderr
    assert not list(cache.iterdir())  # nothing half-installed


@pytest.mark.slow
def test_an_index_without_a_wheel_for_this_machine_is_named(
    index: tuple[str, Path], python_without_pip: Path, tmp_path: Path
) -> None:
    url, root = index
    page = root / "simple/uv/index.html"
    page.write_text("\n".join(line for line in page.read_text().splitlines() if "win_amd64" in line))
    run = uvw("--version", path=[python_without_pip], cache=tmp_path / "cache", PIP_INDEX_URL=url)
    assert run.returncode == 1
    assert f"has no uv {PINNED} wheel for {platform.system()} {platform.machine()}" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.slow
def test_an_unreachable_index_is_named(python_without_pip: Path, tmp_path: Path) -> None:
    # Port 9 (discard) on loopback: nothing listens there.
    run = uvw(
        "--version", path=[python_without_pip], cache=tmp_path / "cache", PIP_INDEX_URL="http://127.0.0.1:9/"
    )
    assert run.returncode == 1
    assert f"uvw: could not install uv {PINNED}" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.slow
def test_a_recent_uv_on_path_is_used_as_it_is(tmp_path: Path) -> None:
    bin_dir = system_python_bin(tmp_path / "bin")
    (bin_dir / "uv").symlink_to(uv())
    cache = tmp_path / "cache"
    run = uvw("--version", path=[bin_dir], cache=cache)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("uv ")
    assert not cache.exists()


@pytest.mark.slow
def test_an_older_uv_on_path_is_passed_over(
    index: tuple[str, Path], python_without_pip: Path, tmp_path: Path
) -> None:
    url, _ = index
    old = tmp_path / "old"
    old.mkdir()
    (old / "uv").write_text("#!/bin/sh\necho 'uv 0.1.0'\n")
    (old / "uv").chmod(0o755)
    run = uvw("--version", path=[python_without_pip, old], cache=tmp_path / "cache", PIP_INDEX_URL=url)
    assert run.returncode == 0, run.stderr
    assert f"uvw: installing uv {PINNED}" in run.stderr
    assert run.stdout != "uv 0.1.0\n"


def test_the_readme_names_the_pinned_version() -> None:
    versions = set(re.findall(r"\buv (\d+\.\d+\.\d+)", (ROOT / "README.md").read_text()))
    assert versions == {PINNED}
