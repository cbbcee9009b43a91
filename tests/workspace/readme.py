"""The docs' shell commands, read from the docs themselves, and a shell as bare as a fresh machine's.

Tests run exactly what a user copies, so the README and the tests cannot drift apart.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Debian's (or Ubuntu's) own Python: externally managed (PEP 668), no uv. Elsewhere, the python3 at hand.
SYSTEM_PYTHON = (
    Path("/usr/bin/python3") if Path("/usr/bin/python3").exists() else Path(shutil.which("python3") or "")
)

# What `uv run` and the test session put in the environment, which a fresh shell would not have.
_SESSION_VARIABLES = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV", "UV_RUN_RECURSION_DEPTH", "UV_PYTHON")
# (`python3 -m uv` tells uv to prefer its own interpreter through UV_INTERNAL__PARENT_INTERPRETER.)
_SESSION_PREFIXES = ("UV_INTERNAL__", "PYENV", "CONDA", "PYTEST_", "OPENAI_", "_FSEC_", "FLYTE_")


def commands(heading: str | None = None, readme: Path = ROOT / "README.md") -> list[str]:
    """The command lines (not comments) of the first ```sh block after `heading` in `readme` (the README
    or a page of docs/), or of its first."""
    text = readme.read_text()
    if heading is not None:
        match = re.search(rf"^{re.escape(heading)}$", text, flags=re.MULTILINE)
        assert match, f"{readme.name} has no heading {heading!r}"
        text = text[match.end() :]
    block = re.search(r"^```sh\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    assert block, f"{readme.name} has no sh block after {heading!r}"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def system_python_bin(directory: Path) -> Path:
    """A PATH entry that holds nothing but `python3`: the system's."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "python3").symlink_to(SYSTEM_PYTHON)
    return directory


def fresh_env(path: list[Path], **extra: str) -> dict[str, str]:
    """This machine's environment (network, certificates, caches) with only `path` on PATH and nothing of
    this test session's Python environment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _SESSION_VARIABLES and not k.startswith(_SESSION_PREFIXES)
    }
    return {**env, "PATH": os.pathsep.join(str(p) for p in path), **extra}


def sh(
    command: str, cwd: Path, env: dict[str, str], timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run a command line as a user's shell would (`/bin/sh`, so PATH need not hold a shell)."""
    return subprocess.run(
        ["/bin/sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def uvw_cache_with(uv: Path, directory: Path) -> Path:
    """A `UVW_CACHE_DIR` in which `./uvw` finds `uv` as its pinned uv, as the README's setup leaves it."""
    match = re.search(r'^UV_VERSION = "(.+)"$', (ROOT / "uvw").read_text(), flags=re.MULTILINE)
    assert match, "uvw pins no UV_VERSION"
    (directory / f"uv-{match.group(1)}/bin").mkdir(parents=True)
    (directory / f"uv-{match.group(1)}/bin/uv").symlink_to(uv)
    return directory
