"""Pin the engine, `openai-batch-jobs`, to exactly this package's version, read from the one VERSION file.

The other dependencies are listed in pyproject.toml (`[tool.hatch.metadata.hooks.custom]
other-dependencies`), since a dynamic field cannot also be static.
"""

from typing import Any

from hatchling.metadata.plugin.interface import MetadataHookInterface


class PinEngineHook(MetadataHookInterface):
    def update(self, metadata: dict[str, Any]) -> None:
        pinned = f"openai-batch-jobs=={metadata['version']}"
        metadata["dependencies"] = [pinned, *self.config["other-dependencies"]]
