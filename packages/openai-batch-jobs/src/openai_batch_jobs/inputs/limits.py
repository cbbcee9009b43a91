"""The most one batch may hold: what validating a request file and cutting it into parts both check.

OpenAI's limits by default (50,000 requests, 200 MiB, 50,000 embedding inputs); compatible servers
may allow more, or less. A file validated as one batch's input must be within them; a file of any
size is cut into parts that each are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openai_batch_jobs.api.batch_api import (
    MAX_EMBEDDING_INPUTS_PER_BATCH,
    MAX_INPUT_FILE_BYTES,
    MAX_REQUESTS_PER_BATCH,
)
from openai_batch_jobs.settings import CustomReader

# A template's key for each limit: the keys the parts' tasks write under ``part_limits``.
PART_KEYS: Mapping[str, str] = {
    "requests": "requests",
    "bytes": "bytes",
    "embedding_inputs": "embedding_inputs",
}


@dataclass(frozen=True)
class PartLimits:
    """The most one batch (one part of a job) may hold, in requests, bytes and embedding inputs."""

    requests: int = MAX_REQUESTS_PER_BATCH
    bytes: int = MAX_INPUT_FILE_BYTES
    embedding_inputs: int = MAX_EMBEDDING_INPUTS_PER_BATCH

    def __post_init__(self) -> None:
        if min(self.requests, self.bytes, self.embedding_inputs) < 1:
            raise ValueError("limits must be positive")

    def to_custom(self, keys: Mapping[str, str] = PART_KEYS) -> dict[str, int]:
        """The limits under the template keys ``keys`` names (a limit it does not name is not written)."""
        return {key: getattr(self, name) for name, key in keys.items()}

    @classmethod
    def from_custom(
        cls, custom: Mapping[str, Any] | None, task: str, keys: Mapping[str, str] = PART_KEYS
    ) -> PartLimits:
        """The limits `to_custom` wrote with the same ``keys``; ``task`` names the task in errors."""
        reader = CustomReader(custom, task=task, optional=tuple(keys.values()))
        defaults = cls()
        values = {name: reader.integer(key, getattr(defaults, name)) for name, key in keys.items()}
        try:
            return cls(**values)
        except ValueError as e:
            raise reader.error(f"its limits are not usable ({e})") from None


# OpenAI's own limits: what a file is checked against and cut by unless told otherwise.
OPENAI_LIMITS = PartLimits()
