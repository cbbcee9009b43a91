"""What the connector tasks' templates carry (`custom`): the engine's settings of the task
(`openai_batch_jobs.job.settings`, the same keys the flytekit tasks write) and the secret's name.

The API key is never here: the template names the secret (`secrets`, as flyte-sdk's connectors do)
and the connector gets its value from Flyte (or, served by `c0`, from its own environment).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from openai_batch_jobs.job.settings import BatchTaskSettings, JobTaskSettings

TASK_TYPE = "openai_batch"
JOB_TASK_TYPE = "openai_batch_job"
# The secret's id in the template and the keyword the connector receives it by.
KEY_SECRET_ID = "openai_api_key"
# Where the connector's key is read when Flyte passes none: a local run's environment, the `c0` pod's.
CONNECTOR_KEY_ENV = "FLYTE_OPENAI_API_KEY"

Settings = TypeVar("Settings", BatchTaskSettings, JobTaskSettings)


def to_custom(settings: BatchTaskSettings | JobTaskSettings, key_secret: str) -> dict[str, Any]:
    """The template's `custom`: the settings, and the name of the secret the connector's key is in."""
    return {**settings.to_custom(), "secrets": {KEY_SECRET_ID: key_secret}}


def from_custom(
    kind: type[Settings], custom: Mapping[str, Any], task_name: str | None
) -> tuple[Settings, str]:
    """The settings a template carries, and the name of its key's secret."""
    values = dict(custom)
    secrets = values.pop("secrets", None) or {}
    secret = secrets.get(KEY_SECRET_ID) if isinstance(secrets, Mapping) else None
    return kind.from_custom(values, task_name), str(secret or CONNECTOR_KEY_ENV)
