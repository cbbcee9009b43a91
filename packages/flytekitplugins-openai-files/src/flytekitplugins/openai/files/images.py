"""Default container images of the upload/download tasks.

The image table lives here and nowhere else: images/ (the Dockerfiles and their CI) builds exactly the
tags this module names, so a task serialized by release X runs in the image built for release X.
"""

from __future__ import annotations

import os
import sys
from importlib import metadata

from flytekit.configuration.default_images import DefaultImages, PythonVersion
from flytekit.core.constants import FLYTE_INTERNAL_IMAGE_ENV_VAR

PACKAGE_NAME = "flytekitplugins-openai-files"
IMAGE_REPOSITORY = "ghcr.io/flytekitplugins-openai/openai-batch-files"
SUPPORTED_PYTHON_VERSIONS: tuple[PythonVersion, ...] = (
    PythonVersion.PYTHON_3_10,
    PythonVersion.PYTHON_3_11,
    PythonVersion.PYTHON_3_12,
)


def image_prefix(python_version: PythonVersion) -> str:
    major, minor = python_version.value
    return f"{IMAGE_REPOSITORY}:py{major}.{minor}-"


class OpenAIFileDefaultImages(DefaultImages):
    """Default images for the openai batch plugin."""

    _DEFAULT_IMAGE_PREFIXES = {v: image_prefix(v) for v in SUPPORTED_PYTHON_VERSIONS}

    @classmethod
    def default_image(cls) -> str:
        # flytekit's default_image() may answer with flytekit's own image, which lacks this plugin.
        return cls.find_image_for()

    @classmethod
    def find_image_for(
        cls, python_version: PythonVersion | None = None, flytekit_version: str | None = None
    ) -> str:
        """Image for a Python version; ``flytekit_version`` (upstream's name) overrides the tag's version."""
        override = os.getenv(FLYTE_INTERNAL_IMAGE_ENV_VAR)
        if override:
            return override
        if python_version is None:
            try:
                python_version = PythonVersion((sys.version_info.major, sys.version_info.minor))
            except ValueError:
                python_version = None
        if python_version not in cls._DEFAULT_IMAGE_PREFIXES:
            wanted = (
                "{}.{}".format(*python_version.value)
                if python_version is not None
                else f"{sys.version_info.major}.{sys.version_info.minor}"
            )
            supported = ", ".join("{}.{}".format(*v.value) for v in cls._DEFAULT_IMAGE_PREFIXES)
            raise ValueError(
                f"No default OpenAI Batch files image for Python {wanted} (supported: {supported}); "
                "pass container_image explicitly."
            )
        version = flytekit_version.replace("v", "") if flytekit_version else cls.get_version_suffix()
        return cls._DEFAULT_IMAGE_PREFIXES[python_version] + version

    @classmethod
    def get_version_suffix(cls) -> str:
        """The plugin's own version, so images follow plugin releases; dev and local builds use ``latest``."""
        try:
            version = metadata.version(PACKAGE_NAME)
        except metadata.PackageNotFoundError:
            return "latest"
        if not version or "dev" in version or "+" in version:
            return "latest"
        return version
