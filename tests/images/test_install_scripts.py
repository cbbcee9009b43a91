"""The images' install script refuses unclear input before they create or install anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.images.image_env import TARGETS, run_install

# The wheel names of the packages the images install from the checkout.
PLUGIN_WHEELS = ("flytekitplugins_openai_files", "flytekitplugins_openai_batch", "flyteplugins_openai_batch")


def test_the_image_must_be_named(tmp_path: Path) -> None:
    result = run_install("connector", tmp_path / "venv", wheels=None)
    assert result.returncode != 0
    assert "unknown image 'connector' (files, agent or flyte2)" in result.stderr
    assert not (tmp_path / "venv").exists()


@pytest.mark.parametrize("target", TARGETS)
def test_without_wheels_the_release_must_be_named(target: str, tmp_path: Path) -> None:
    result = run_install(target, tmp_path / "venv", wheels=None, plugin_version=None)
    assert result.returncode != 0
    assert "PLUGIN_VERSION must name the plugin release" in result.stderr
    assert not (tmp_path / "venv").exists()


@pytest.mark.parametrize("target", TARGETS)
def test_the_framework_must_be_pinned(target: str, tmp_path: Path) -> None:
    result = run_install(target, tmp_path / "venv", wheels=None, flytekit_version="", flyte_version="")
    assert result.returncode != 0
    variable, framework = (
        ("FLYTE_VERSION", "flyte") if target == "flyte2" else ("FLYTEKIT_VERSION", "flytekit")
    )
    assert f"{variable} must name the {framework} release to pin" in result.stderr
    assert not (tmp_path / "venv").exists()


@pytest.mark.parametrize("target", TARGETS)
def test_wheels_must_carry_the_release_version(target: str, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name in PLUGIN_WHEELS:
        (wheels / f"{name}-1.0.0-py3-none-any.whl").touch()
    result = run_install(target, tmp_path / "venv", wheels=wheels, plugin_version="2.0.0")
    assert result.returncode != 0
    assert f"no wheel matches {wheels}/" in result.stderr
    assert "-2.0.0-py3-none-any.whl" in result.stderr
    assert not (tmp_path / "venv").exists()


@pytest.mark.parametrize("target", TARGETS)
def test_two_builds_of_one_package_are_ambiguous(target: str, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for version in ("1.0.0", "1.1.0"):
        for name in PLUGIN_WHEELS:
            (wheels / f"{name}-{version}-py3-none-any.whl").touch()
    result = run_install(target, tmp_path / "venv", wheels=wheels, plugin_version=None)
    assert result.returncode != 0
    assert "several wheels match" in result.stderr
    assert not (tmp_path / "venv").exists()
