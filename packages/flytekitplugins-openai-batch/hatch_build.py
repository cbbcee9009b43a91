"""Pin `flytekitplugins-openai-files`, whose shared layer this package builds on, to exactly its own version.

The version comes from the one VERSION file; the other dependencies are listed in pyproject.toml
(`[tool.hatch.metadata.hooks.custom] other-dependencies`), since a dynamic field cannot also be static.
"""

from typing import Any

from hatchling.metadata.plugin.interface import MetadataHookInterface


class PinFilesHook(MetadataHookInterface):
    def update(self, metadata: dict[str, Any]) -> None:
        pinned = f"flytekitplugins-openai-files=={metadata['version']}"
        metadata["dependencies"] = [pinned, *self.config["other-dependencies"]]
