"""`flytekitplugins` is a namespace shared with every other Flyte plugin: it must stay pure PEP 420."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.wheels import ROOT

PACKAGES = ROOT / "packages"


def test_no_package_owns_the_flytekitplugins_namespace() -> None:
    strays = sorted(PACKAGES.glob("*/src/flytekitplugins/__init__.py"))
    assert strays == [], f"these break the shared namespace: {strays}"


def test_only_the_meta_package_owns_flytekitplugins_openai() -> None:
    owners = sorted(
        p.relative_to(PACKAGES).parts[0] for p in PACKAGES.glob("*/src/flytekitplugins/openai/__init__.py")
    )
    assert owners == ["flytekitplugins-openai"]


def test_meta_init_extends_its_path_to_the_parts() -> None:
    init = (PACKAGES / "flytekitplugins-openai/src/flytekitplugins/openai/__init__.py").read_text()
    assert "extend_path(__path__, __name__)" in init


@pytest.mark.slow
def test_every_module_imports_in_the_editable_workspace() -> None:
    code = (
        "import flytekitplugins.openai.core, flytekitplugins.openai.files, flytekitplugins.openai.batch.task, "
        "flytekitplugins.openai.batch.connector, flytekitplugins.openai.batch.agent, openai_batch_emulator\n"
        "from flytekitplugins.openai import create_batch, BatchEndpointTask, BatchEndpointConnector\n"
        "import flytekitplugins\n"
        "assert not hasattr(flytekitplugins, '__file__') or flytekitplugins.__file__ is None\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_shared_layer_ships_in_the_files_package() -> None:
    # The lowest distribution that needs it: the batch and meta packages depend on the files package.
    owners = sorted(
        p.relative_to(PACKAGES).parts[0] for p in PACKAGES.glob("*/src/flytekitplugins/openai/core")
    )
    assert owners == ["flytekitplugins-openai-files"]


def test_no_part_imports_another_parts_private_module() -> None:
    # A private module may serve its own distribution (the batch distribution's chatgpt package uses
    # batch._compat), never another one.
    def owner(subpackage: str) -> set[str]:
        return {
            p.parts[0]
            for p in (
                q.relative_to(PACKAGES) for q in PACKAGES.glob(f"*/src/flytekitplugins/openai/{subpackage}")
            )
        }

    offenders = []
    for path in PACKAGES.glob("*/src/flytekitplugins/openai/**/*.py"):
        distribution = path.relative_to(PACKAGES).parts[0]
        for line in path.read_text().splitlines():
            match = re.match(r"\s*(?:from|import) flytekitplugins\.openai\.(\w+)\.(_\w+)", line)
            if match and owner(match.group(1)) != {distribution}:
                offenders.append(f"{path.relative_to(PACKAGES)}: {line.strip()}")
    assert offenders == []


def test_every_package_ships_py_typed() -> None:
    for src in PACKAGES.glob("*/src"):
        assert list(src.rglob("py.typed")), f"{src.parent.name} has no py.typed"
