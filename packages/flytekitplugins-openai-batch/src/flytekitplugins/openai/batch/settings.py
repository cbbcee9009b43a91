"""The typed settings of a BatchEndpointTask: what it writes into its template's `custom`.

The task writes them (`to_custom`) when it is serialized; the connector reads them back
(`from_custom`) from whatever template propeller sends, which another plugin version or client may
have written. This class is the only code that knows the keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openai_batch_jobs.api.batch_config import TASK_TYPE, BatchConfig
from openai_batch_jobs.settings import CustomReader, task_label


@dataclass(frozen=True)
class BatchTaskSettings:
    """`config` as the task was given it (checked with `BatchConfig.parse`), and where the batch runs."""

    config: Mapping[str, Any] = field(default_factory=dict)
    openai_organization: str | None = None
    base_url: str | None = None
    accept_partial_results: bool = False

    def to_custom(self) -> dict[str, Any]:
        custom: dict[str, Any] = {
            "openai_organization": self.openai_organization,
            "config": dict(self.config),
        }
        if self.base_url:
            custom["base_url"] = self.base_url
        if self.accept_partial_results:
            custom["accept_partial_results"] = True
        return custom

    @classmethod
    def from_custom(cls, custom: Mapping[str, Any] | None, task_name: str | None = None) -> BatchTaskSettings:
        reader = CustomReader(
            custom,
            task=task_label(TASK_TYPE, task_name),
            optional=("openai_organization", "config", "base_url", "accept_partial_results"),
        )
        config = reader.value("config")
        return cls(
            # A config that is not a dict is BatchConfig.parse's to refuse, with its own message.
            config=config if config is not None else {},
            openai_organization=reader.optional_str("openai_organization"),
            base_url=reader.optional_str("base_url"),
            accept_partial_results=reader.boolean("accept_partial_results", False),
        )

    def batch_config(self, task_name: str | None = None) -> BatchConfig:
        """The config checked against the Batch API's rules, with its defaults filled in."""
        return BatchConfig.parse(self.config, task_name=task_name)
