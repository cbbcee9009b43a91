"""Pin `flytekitplugins-openai-files` and the engine, `openai-batch-jobs`, to exactly this package's version.

The version comes from the one VERSION file; the other dependencies are listed in pyproject.toml
(`[tool.hatch.metadata.hooks.custom] other-dependencies`), since a dynamic field cannot also be static.
"""

from typing import Any

from hatchling.metadata.plugin.interface import MetadataHookInterface

PINNED = ("flytekitplugins-openai-files", "openai-batch-jobs")


class PinFilesHook(MetadataHookInterface):
    def update(self, metadata: dict[str, Any]) -> None:
        pinned = [f"{name}=={metadata['version']}" for name in PINNED]
        metadata["dependencies"] = [*pinned, *self.config["other-dependencies"]]
