"""Pin the meta package's parts to exactly its own version, read from the one VERSION file."""

from typing import Any

from hatchling.metadata.plugin.interface import MetadataHookInterface

PARTS = ("flytekitplugins-openai-files", "flytekitplugins-openai-batch")


class PinPartsHook(MetadataHookInterface):
    def update(self, metadata: dict[str, Any]) -> None:
        metadata["dependencies"] = [f"{part}=={metadata['version']}" for part in PARTS]
