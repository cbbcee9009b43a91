"""images/matrix.json (what images.yml builds) and the code's default images name the same tags."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest
import yaml
from flytekit.configuration.default_images import PythonVersion

from flytekitplugins.openai.files import OpenAIFileDefaultImages
from flytekitplugins.openai.files.images import IMAGE_REPOSITORY, SUPPORTED_PYTHON_VERSIONS
from tests.images.image_env import IMAGES, dockerfile_args, load_matrix
from tests.support.wheels import PLUGINS, ROOT

MATRIX = load_matrix()
COMPONENTS = sorted(MATRIX.images)


def python_version(text: str) -> PythonVersion:
    major, minor = text.split(".")
    return PythonVersion((int(major), int(minor)))


def test_every_component_has_its_image_folder() -> None:
    assert COMPONENTS == ["agent", "files"]
    assert sorted(p.name for p in IMAGES.iterdir() if (p / "Dockerfile").exists()) == COMPONENTS


def test_images_are_built_for_exactly_the_pythons_the_code_supports() -> None:
    assert [python_version(p) for p in MATRIX.python] == list(SUPPORTED_PYTHON_VERSIONS)


@pytest.mark.parametrize("python", MATRIX.python)
def test_default_image_is_a_tag_images_yml_pushes(python: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLYTE_INTERNAL_IMAGE", raising=False)
    suffix = OpenAIFileDefaultImages.get_version_suffix()
    assert OpenAIFileDefaultImages.find_image_for(python_version(python)) == MATRIX.tag(
        "files", python, suffix
    )
    # Upstream's flytekit_version argument overrides the version part, as images.yml's tag names it.
    assert OpenAIFileDefaultImages.find_image_for(python_version(python), "v9.8.7") == MATRIX.tag(
        "files", python, "9.8.7"
    )


def test_the_files_image_repository_is_the_matrix_one() -> None:
    repository = f"{MATRIX.registry}/{MATRIX.images['files']}"
    assert repository == IMAGE_REPOSITORY


@pytest.mark.parametrize("package", PLUGINS)
def test_packages_declare_the_image_pythons(package: str) -> None:
    classifiers = metadata.metadata(package).get_all("Classifier") or []
    declared = [
        c.rsplit(" :: ", 1)[1] for c in classifiers if c.startswith("Programming Language :: Python :: 3.")
    ]
    assert declared == list(MATRIX.python)


@pytest.mark.parametrize("component", COMPONENTS)
def test_dockerfile_defaults_are_the_matrix_pins(component: str) -> None:
    args = dockerfile_args(component)
    assert args["PYTHON_VERSION"] == MATRIX.python[-1]
    assert args["FLYTEKIT_VERSION"] == MATRIX.flytekit
    assert args["UV_VERSION"] == MATRIX.uv
    # No default release: an image either installs the wheels it is given or names the release to fetch.
    assert args["PLUGIN_VERSION"] == ""


def test_the_image_flytekit_pin_is_the_one_the_workspace_tests() -> None:
    # The dev environment is synced from uv.lock, so this is the locked flytekit.
    assert MATRIX.flytekit == metadata.version("flytekit")


def test_images_workflow_builds_from_the_matrix() -> None:
    workflow = yaml.safe_load(Path(ROOT / ".github/workflows/images.yml").read_text())
    build = workflow["jobs"]["build"]
    assert "images/matrix.json" in str(workflow["jobs"]["plan"]["steps"])
    (push,) = [s["with"] for s in build["steps"] if s.get("uses", "").startswith("docker/build-push-action")]
    assert push["context"] == "images/${{ matrix.component.name }}"
    assert push["build-contexts"] == "wheels=dist"
    assert push["tags"] == (
        "${{ needs.plan.outputs.registry }}/${{ matrix.component.image }}:"
        "py${{ matrix.python }}-${{ needs.plan.outputs.suffix }}"
    )


def test_ci_tests_the_plugins_on_the_image_pythons() -> None:
    workflow = yaml.safe_load(Path(ROOT / ".github/workflows/ci.yml").read_text())
    assert workflow["jobs"]["tests"]["strategy"]["matrix"]["python"] == list(MATRIX.python)
