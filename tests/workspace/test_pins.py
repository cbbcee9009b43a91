"""The plugin wheels pin each other to exactly their shared version, as a user's pip sees it."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.images.image_env import VERSION
from tests.support.wheels import wheel_for, wheel_metadata

pytestmark = pytest.mark.slow


def test_the_batch_package_pins_the_files_package_to_its_own_version(plugin_wheels: Path) -> None:
    metadata = wheel_metadata(wheel_for(plugin_wheels, "flytekitplugins-openai-batch"))
    requires = {r.name: r for r in map(Requirement, metadata.get_all("Requires-Dist") or [])}
    # The batch package builds on the files package's shared layer (flytekitplugins.openai.core) and the engine.
    assert str(requires["flytekitplugins-openai-files"].specifier) == f"=={VERSION}"
    assert str(requires["openai-batch-jobs"].specifier) == f"=={VERSION}"
    # The hook that writes the pin keeps the dependencies listed in pyproject.toml.
    assert sorted(requires) == [
        "flytekit",
        "flytekitplugins-openai-files",
        "grpcio-health-checking",
        "openai",
        "openai-batch-jobs",
        "prometheus-client",
    ]
    assert requires["flytekit"].extras == {"connector"}


def test_the_files_package_pins_the_engine_to_its_own_version(plugin_wheels: Path) -> None:
    metadata = wheel_metadata(wheel_for(plugin_wheels, "flytekitplugins-openai-files"))
    requires = {r.name: r for r in map(Requirement, metadata.get_all("Requires-Dist") or [])}
    assert str(requires["openai-batch-jobs"].specifier) == f"=={VERSION}"
    assert "flytekit" in requires


def test_the_engine_needs_no_flyte(plugin_wheels: Path) -> None:
    metadata = wheel_metadata(wheel_for(plugin_wheels, "openai-batch-jobs"))
    requires = {Requirement(r).name for r in metadata.get_all("Requires-Dist") or []}
    assert not {name for name in requires if "flyte" in name or "grpc" in name}, requires
