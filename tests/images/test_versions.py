"""One version everywhere: the three plugin wheels, the meta package's pins and the images' default tags."""

from __future__ import annotations

from pathlib import Path

import pytest
from flytekit.configuration.default_images import PythonVersion

from flytekitplugins.openai.files import OpenAIFileDefaultImages
from flytekitplugins.openai.files.images import SUPPORTED_PYTHON_VERSIONS
from tests.images.image_env import VERSION, load_matrix
from tests.support.wheels import PLUGINS, wheel_for, wheel_metadata

META = "flytekitplugins-openai"
PARTS = [p for p in PLUGINS if p != META]


@pytest.mark.slow
@pytest.mark.parametrize("package", PLUGINS)
def test_every_plugin_wheel_carries_the_workspace_version(package: str, plugin_wheels: Path) -> None:
    assert wheel_metadata(wheel_for(plugin_wheels, package))["Version"] == VERSION


@pytest.mark.slow
def test_the_meta_package_pins_exactly_its_parts_at_its_version(plugin_wheels: Path) -> None:
    assert PARTS == ["flytekitplugins-openai-files", "flytekitplugins-openai-batch"]
    requires = wheel_metadata(wheel_for(plugin_wheels, META)).get_all("Requires-Dist") or []
    pins = sorted(r for r in requires if r.startswith("flytekitplugins-"))
    assert pins == sorted(f"{part}=={VERSION}" for part in PARTS)


@pytest.mark.parametrize("python", SUPPORTED_PYTHON_VERSIONS, ids=lambda v: "py{}.{}".format(*v.value))
def test_default_images_are_tagged_with_the_plugin_version(
    python: PythonVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLYTE_INTERNAL_IMAGE", raising=False)
    expected = "latest" if "dev" in VERSION or "+" in VERSION else VERSION
    py = "{}.{}".format(*python.value)
    assert OpenAIFileDefaultImages.find_image_for(python) == load_matrix().tag("files", py, expected)
