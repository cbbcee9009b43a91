"""What the connector task's template carries (`custom`): plain JSON, checked where the task is declared.

The API key is never here: the template names the secret (`secrets`, as flyte-sdk's connectors do)
and the connector gets its value from Flyte (or, served by `c0`, from its own environment).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from openai_batch_jobs.api.batch_config import BatchConfig, check_base_url
from openai_batch_jobs.errors import TaskTemplateError

TASK_TYPE = "openai_batch"
# The secret's id in the template and the keyword the connector receives it by.
KEY_SECRET_ID = "openai_api_key"
# Where the connector's key is read when Flyte passes none: a local run's environment, the `c0` pod's.
CONNECTOR_KEY_ENV = "FLYTE_OPENAI_API_KEY"


@dataclass(frozen=True)
class BatchTaskSettings:
    """One connector task's settings: the `batches.create` arguments and where they go."""

    config: dict[str, Any] = field(default_factory=dict)
    openai_organization: str | None = None
    base_url: str | None = None
    accept_partial_results: bool = False
    # Where the key comes from: the name of a Flyte secret (an env var in a local run).
    key_secret: str = CONNECTOR_KEY_ENV

    def check(self, name: str) -> BatchConfig:
        check_base_url(self.base_url, f"OpenAIBatchTask {name!r}")
        return BatchConfig.parse(self.config, name)

    def batch_config(self) -> BatchConfig:
        return BatchConfig.parse(self.config)

    def to_custom(self) -> dict[str, Any]:
        custom = asdict(self)
        custom["secrets"] = {KEY_SECRET_ID: custom.pop("key_secret")}
        return custom

    @classmethod
    def from_custom(cls, custom: Mapping[str, Any]) -> BatchTaskSettings:
        known = {"config", "openai_organization", "base_url", "accept_partial_results"}
        if not isinstance(custom.get("config", {}), Mapping):
            raise TaskTemplateError(f"The {TASK_TYPE} task's template has no usable config: {custom!r}")
        values = {k: v for k, v in custom.items() if k in known}
        secret = (custom.get("secrets") or {}).get(KEY_SECRET_ID) or CONNECTOR_KEY_ENV
        return cls(**values, key_secret=secret)
