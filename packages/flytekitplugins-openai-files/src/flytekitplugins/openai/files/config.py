"""How the upload and download tasks reach OpenAI (or an OpenAI-compatible server)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flytekit.models.security import Secret

# Retries of transient faults (429, 5xx, dropped connections) before a transfer fails; with the
# SDK's exponential backoff (0.5 s doubling, capped at 8 s) five retries wait about 15 s in all.
DEFAULT_MAX_RETRIES = 5
# JSONL files are read line by line through a buffer this big: few system calls, little memory.
READ_BUFFER = 1 << 20


@dataclass
class OpenAIFileConfig:
    """Where the API key lives and which organization and server to use.

    ``secret`` names the Flyte secret holding the API key; only its name is serialized, never its value.
    ``base_url`` points at Azure OpenAI or another compatible server; when unset the task uses the
    ``OPENAI_BASE_URL`` environment variable of the pod, else OpenAI itself.
    """

    secret: Secret
    openai_organization: str | None = None
    base_url: str | None = None
    max_retries: int = DEFAULT_MAX_RETRIES

    def __post_init__(self) -> None:
        if not isinstance(self.secret, Secret):
            raise TypeError(
                f"OpenAIFileConfig.secret must be a flytekit Secret, got {type(self.secret).__name__}"
            )
        if self.max_retries < 0:
            raise ValueError("OpenAIFileConfig.max_retries must be >= 0")

    def _secret_to_dict(self) -> dict[str, Any]:
        return secret_reference(self.secret)

    def to_custom(self) -> dict[str, Any]:
        """The part of a task template's ``custom`` that lets an executor build its client."""
        custom: dict[str, Any] = {
            "openai_organization": self.openai_organization,
            "secret_arg": self._secret_to_dict(),
            "max_retries": self.max_retries,
        }
        if self.base_url:
            custom["base_url"] = self.base_url
        return custom


def secret_reference(secret: Secret) -> dict[str, Any]:
    """The name of a secret, as stored in task templates (the value is looked up at run time)."""
    return {
        "group": secret.group,
        "key": secret.key,
        "group_version": secret.group_version,
        "mount_requirement": secret.mount_requirement.value,
    }
