"""How the upload and download tasks reach OpenAI (or an OpenAI-compatible server)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from flytekit.models.security import Secret

from flytekitplugins.openai.core.keys import flyte_secret_value
from openai_batch_jobs.api.client import make_client
from openai_batch_jobs.api.retry import TRANSFER, RetryPolicy
from openai_batch_jobs.settings import CustomReader

if TYPE_CHECKING:
    from openai import OpenAI

# Retries of transient faults (429, 5xx, dropped connections) before a transfer fails: the
# transfer policy's (core.retry.TRANSFER), with its exponential backoff.
DEFAULT_MAX_RETRIES = TRANSFER.retries or 0


@dataclass
class OpenAIFileConfig:
    """Where the API key lives and which organization and server to use.

    ``secret`` names the Flyte secret holding the API key; only its name is serialized, never its value.
    ``base_url`` points at Azure OpenAI or another compatible server; when unset the task uses the
    ``OPENAI_BASE_URL`` environment variable of the pod, else OpenAI itself.
    """

    # The keys `to_custom` writes into a task template's custom (`base_url` only when set).
    REQUIRED_KEYS: ClassVar[tuple[str, ...]] = ("secret_arg",)
    OPTIONAL_KEYS: ClassVar[tuple[str, ...]] = ("openai_organization", "base_url", "max_retries")

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

    def to_custom(self) -> dict[str, Any]:
        """The part of a task template's ``custom`` that lets an executor build its client."""
        custom: dict[str, Any] = {
            "openai_organization": self.openai_organization,
            "secret_arg": secret_reference(self.secret),
            "max_retries": self.max_retries,
        }
        if self.base_url:
            custom["base_url"] = self.base_url
        return custom

    @classmethod
    def from_custom(cls, reader: CustomReader) -> OpenAIFileConfig:
        """The config `to_custom` wrote, from a reader that accepts (at least) this class's keys."""
        secret = reader.mapping("secret_arg")
        try:
            mount = Secret.MountType(int(secret.get("mount_requirement", Secret.MountType.ANY.value)))
            value = Secret(
                group=secret.get("group"),
                key=secret.get("key"),
                group_version=secret.get("group_version"),
                mount_requirement=mount,
            )
        except (TypeError, ValueError) as e:
            raise reader.error(f"'secret_arg' is not a secret reference ({e})") from None
        max_retries = reader.integer("max_retries", DEFAULT_MAX_RETRIES)
        if max_retries < 0:
            raise reader.error(f"'max_retries' must be >= 0, got {max_retries}")
        return cls(
            secret=value,
            openai_organization=reader.optional_str("openai_organization"),
            base_url=reader.optional_str("base_url"),
            max_retries=max_retries,
        )

    @property
    def retry_policy(self) -> RetryPolicy:
        """The transfer policy with this config's retry count."""
        return TRANSFER.with_retries(self.max_retries)

    def client(self) -> tuple[OpenAI, str]:
        """A client with the key from the Flyte secret; also returns the key, for redaction."""
        api_key = flyte_secret_value(self.secret)
        client = make_client(
            api_key, organization=self.openai_organization, base_url=self.base_url, retry=self.retry_policy
        )
        return client, api_key


def secret_reference(secret: Secret) -> dict[str, Any]:
    """The name of a secret, as stored in task templates (the value is looked up at run time)."""
    return {
        "group": secret.group,
        "key": secret.key,
        "group_version": secret.group_version,
        "mount_requirement": secret.mount_requirement.value,
    }
