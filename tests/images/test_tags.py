"""images/matrix.json (what images.yml builds) and the code's default images name the same tags."""

from __future__ import annotations

from importlib import metadata

import pytest
from flytekit.configuration.default_images import PythonVersion

from flytekitplugins.openai.files import OpenAIFileDefaultImages
from flytekitplugins.openai.files.images import IMAGE_REPOSITORY, SUPPORTED_PYTHON_VERSIONS
from tests.images.image_env import IMAGES, TARGETS, dockerfile_args, dockerfile_stages, load_matrix
from tests.images.workflow import build_step, load, wheels_command
from tests.support.wheels import BUILD_COMMAND, PLUGINS

MATRIX = load_matrix()


def python_version(text: str) -> PythonVersion:
    major, minor = text.split(".")
    return PythonVersion((int(major), int(minor)))


def test_one_dockerfile_has_a_target_for_every_image() -> None:
    assert TARGETS == ("files", "agent", "flyte2")
    assert sorted(p.name for p in IMAGES.rglob("Dockerfile")) == ["Dockerfile"]
    stages = dockerfile_stages()
    assert set(TARGETS) <= set(stages)
    # A build without --target gives the image the tasks default to.
    assert list(stages)[-1] == "files"


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


def test_dockerfile_defaults_are_the_matrix_pins() -> None:
    args = dockerfile_args()
    assert args["PYTHON_VERSION"] == MATRIX.python[-1]
    assert args["FLYTEKIT_VERSION"] == MATRIX.flytekit
    assert args["FLYTE_VERSION"] == MATRIX.flyte
    assert args["UV_VERSION"] == MATRIX.uv
    # No default release: an image either installs the wheels it is given or names the release to fetch.
    assert args["PLUGIN_VERSION"] == ""


def test_the_image_flytekit_pin_is_the_one_the_workspace_tests() -> None:
    # The dev environment is synced from uv.lock, so this is the locked flytekit (and flyte).
    assert MATRIX.flytekit == metadata.version("flytekit")
    assert MATRIX.flyte == metadata.version("flyte")


def test_images_workflow_builds_from_the_matrix() -> None:
    workflow = load("images.yml")
    assert "images/matrix.json" in str(workflow["jobs"]["plan"]["steps"])
    push = build_step()
    assert push["context"] == "images"
    assert push["target"] == "${{ matrix.component.target }}"
    assert push["build-contexts"] == "wheels=dist"
    assert push["tags"] == (
        "${{ needs.plan.outputs.registry }}/${{ matrix.component.image }}:"
        "py${{ matrix.python }}-${{ needs.plan.outputs.suffix }}"
    )


def test_images_install_the_wheels_the_release_publishes() -> None:
    # The same command in both workflows, and the one the tests build their wheels with.
    release = wheels_command("release.yml", "build")
    assert wheels_command("images.yml", "build") == release
    assert release == f"uv {' '.join(BUILD_COMMAND)} -o dist"


def test_ci_tests_the_plugins_on_the_image_pythons() -> None:
    workflow = load("ci.yml")
    assert workflow["jobs"]["tests"]["strategy"]["matrix"]["python"] == list(MATRIX.python)
