"""Looking at a page as a person would: Debian's headless Chromium takes its screenshot and prints it to PDF
(whose text, read back with poppler's pdftotext, is what the page shows).

Under CI (CI=true) a missing Chromium is installed with apt-get; elsewhere the test is skipped, saying so.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

PACKAGES = ("chromium", "poppler-utils")
# Nothing the browser does on its own (updates, sync, metrics) may reach out: the page is a local file.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)
TIMEOUT_S = 180


def require_browser() -> str:
    """The path of chromium (with pdftotext beside it), installing both under CI when missing."""
    if not (shutil.which("chromium") and shutil.which("pdftotext")):
        if os.environ.get("CI") != "true":
            pytest.skip(
                "needs Debian's chromium and poppler-utils (apt-get install -y chromium poppler-utils); "
                "CI installs them itself"
            )
        _install()
    path = shutil.which("chromium")
    assert path, "apt-get installed chromium, but it is not on PATH"
    return path


def _install() -> None:
    # One install for all xdist workers: the others wait on the lock, then find chromium there.
    with open(Path(tempfile.gettempdir()) / "results-tests-chromium.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if shutil.which("chromium") and shutil.which("pdftotext"):
            return
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *PACKAGES]):
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200, check=False)
            assert done.returncode == 0, (
                f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            )


def _run(chromium: str, page: Path, work: Path, *args: str) -> None:
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=work)
    command = [chromium, *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    assert done.returncode == 0, f"chromium failed ({done.returncode}):\n{done.stderr[-3000:]}"


def screenshot(chromium: str, page: Path, png: Path, width: int = 1000, height: int = 1600) -> Path:
    _run(chromium, page, png.parent, f"--screenshot={png}", f"--window-size={width},{height}")
    assert png.exists(), f"chromium wrote no screenshot to {png}"
    return png


def shown_text(chromium: str, page: Path, work: Path) -> str:
    """The text the page shows, as laid out: printed to PDF by chromium, read back by pdftotext."""
    pdf = work / (page.stem + ".pdf")
    _run(chromium, page, work, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    done = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout
