"""The typed settings of the upload, download and collect tasks: what each writes into its template's `custom`.

The task writes them (`to_custom`) when it is serialized; its executor, in the pod, reads them back
(`from_custom`) from the template alone. Each class is the only code that knows its keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from openai_batch_jobs.inputs.limits import PartLimits
from openai_batch_jobs.job.settings import JobTaskSettings
from openai_batch_jobs.report.prices import ModelPrice, parse_prices, prices_to_custom
from openai_batch_jobs.results.job_collection import ServerCleanup
from openai_batch_jobs.results.rounds import RoundRules
from openai_batch_jobs.settings import CustomReader, task_label

from .config import OpenAIFileConfig

UPLOAD_TASK_TYPE = "openai-batch-upload-file"
DOWNLOAD_TASK_TYPE = "openai-batch-download-files"
UPLOAD_PARTS_TASK_TYPE = "openai-batch-upload-parts"
COLLECT_TASK_TYPE = "openai-batch-collect"
# The seed's upload task names its limits as its constructor arguments do, and has no embedding limit.
UPLOAD_LIMIT_KEYS = {"requests": "max_requests", "bytes": "max_bytes"}


@dataclass(frozen=True)
class UploadSettings:
    """The upload task's custom: the file config's keys, `limits` and (when set) `endpoint`."""

    file_config: OpenAIFileConfig
    limits: PartLimits = field(default_factory=PartLimits)
    endpoint: str | None = None

    def to_custom(self) -> dict[str, Any]:
        custom = {**self.file_config.to_custom(), "limits": self.limits.to_custom(UPLOAD_LIMIT_KEYS)}
        if self.endpoint:
            custom["endpoint"] = self.endpoint
        return custom

    @classmethod
    def from_custom(cls, custom: Mapping[str, Any] | None, task_name: str | None = None) -> UploadSettings:
        task = task_label(UPLOAD_TASK_TYPE, task_name)
        reader = CustomReader(
            custom,
            task=task,
            required=OpenAIFileConfig.REQUIRED_KEYS,
            optional=(*OpenAIFileConfig.OPTIONAL_KEYS, "limits", "endpoint"),
        )
        return cls(
            file_config=OpenAIFileConfig.from_custom(reader),
            limits=PartLimits.from_custom(reader.mapping("limits"), task, UPLOAD_LIMIT_KEYS),
            endpoint=reader.optional_str("endpoint"),
        )


@dataclass(frozen=True)
class DownloadSettings:
    """The download task's custom: the file config's keys and `fail_on_missing_requests`."""

    file_config: OpenAIFileConfig
    fail_on_missing_requests: bool = False

    def to_custom(self) -> dict[str, Any]:
        return {**self.file_config.to_custom(), "fail_on_missing_requests": self.fail_on_missing_requests}

    @classmethod
    def from_custom(cls, custom: Mapping[str, Any] | None, task_name: str | None = None) -> DownloadSettings:
        reader = CustomReader(
            custom,
            task=task_label(DOWNLOAD_TASK_TYPE, task_name),
            required=OpenAIFileConfig.REQUIRED_KEYS,
            optional=(*OpenAIFileConfig.OPTIONAL_KEYS, "fail_on_missing_requests"),
        )
        return cls(
            file_config=OpenAIFileConfig.from_custom(reader),
            fail_on_missing_requests=reader.boolean("fail_on_missing_requests", False),
        )


@dataclass(frozen=True)
class UploadPartsSettings:
    """The upload-parts task's custom: the file config's keys, `part_limits`, `endpoint`,
    `check_connector_key`, and (when a cap is set) `max_cost_usd` with the `prices` laid over the table."""

    file_config: OpenAIFileConfig
    limits: PartLimits = field(default_factory=PartLimits)
    endpoint: str | None = None
    check_connector_key: bool = False
    max_cost_usd: float | None = None
    prices: Mapping[str, ModelPrice] = field(default_factory=dict)

    def to_custom(self) -> dict[str, Any]:
        custom = {
            **self.file_config.to_custom(),
            "part_limits": self.limits.to_custom(),
            "endpoint": self.endpoint,
            "check_connector_key": self.check_connector_key,
        }
        if self.max_cost_usd is not None:
            custom["max_cost_usd"] = self.max_cost_usd
        if self.prices:
            custom["prices"] = prices_to_custom(self.prices)
        return custom

    @classmethod
    def from_custom(
        cls, custom: Mapping[str, Any] | None, task_name: str | None = None
    ) -> UploadPartsSettings:
        task = task_label(UPLOAD_PARTS_TASK_TYPE, task_name)
        reader = CustomReader(
            custom,
            task=task,
            required=OpenAIFileConfig.REQUIRED_KEYS,
            optional=(
                *OpenAIFileConfig.OPTIONAL_KEYS,
                "part_limits",
                "endpoint",
                "check_connector_key",
                "max_cost_usd",
                "prices",
            ),
        )
        cap = reader.value("max_cost_usd")
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int | float)):
            raise reader.error(f"'max_cost_usd' must be a number, got {cap!r}")
        try:
            prices = parse_prices(reader.mapping("prices"))
        except ValueError as e:
            raise reader.error(str(e)) from None
        return cls(
            file_config=OpenAIFileConfig.from_custom(reader),
            limits=PartLimits.from_custom(reader.mapping("part_limits"), task),
            endpoint=reader.optional_str("endpoint"),
            check_connector_key=reader.boolean("check_connector_key", False),
            max_cost_usd=None if cap is None else float(cap),
            prices=prices,
        )


@dataclass(frozen=True)
class CollectSettings:
    """The collect task's custom: the file config's keys, and what to do with missing requests and
    with the server's files once the results are downloaded (`ServerCleanup`'s keys)."""

    file_config: OpenAIFileConfig
    cleanup: ServerCleanup = field(default_factory=ServerCleanup)

    def to_custom(self) -> dict[str, Any]:
        return {**self.file_config.to_custom(), **self.cleanup.to_custom()}

    @classmethod
    def from_custom(cls, custom: Mapping[str, Any] | None, task_name: str | None = None) -> CollectSettings:
        reader = CustomReader(
            custom,
            task=task_label(COLLECT_TASK_TYPE, task_name),
            required=OpenAIFileConfig.REQUIRED_KEYS,
            optional=(*OpenAIFileConfig.OPTIONAL_KEYS, *ServerCleanup.KEYS),
        )
        return cls(OpenAIFileConfig.from_custom(reader), ServerCleanup.from_reader(reader))


@dataclass(frozen=True)
class RoundSettings:
    """A job round's collect step's custom: the collect task's keys, the round's (`RoundRules`), the
    job task's settings under ``job`` (the step declares the next round's job task), the names the
    rounds' tasks are named after, and the memory of the step's pod (``memory``; None: the default).
    """

    collect: CollectSettings
    rules: RoundRules
    job: JobTaskSettings
    job_name: str
    step_name: str
    memory: str | None = None

    @property
    def file_config(self) -> OpenAIFileConfig:
        return self.collect.file_config

    def next_round(self) -> RoundSettings:
        return replace(self, rules=self.rules.next())

    def round_name(self, base: str) -> str:
        """A task's name in this round: round 1 keeps upstream's name, later rounds add ``-round<N>``."""
        return base if self.rules.attempt == 1 else f"{base}-round{self.rules.attempt}"

    def to_custom(self) -> dict[str, Any]:
        return {
            **self.collect.to_custom(),
            **self.rules.to_custom(),
            "job": self.job.to_custom(),
            "job_name": self.job_name,
            "step_name": self.step_name,
            "memory": self.memory,
        }

    @classmethod
    def from_custom(cls, custom: Mapping[str, Any] | None, task_name: str | None = None) -> RoundSettings:
        names = ("job", "job_name", "step_name", "memory")
        reader = CustomReader(
            custom,
            task=task_label(COLLECT_TASK_TYPE, task_name),
            required=(*OpenAIFileConfig.REQUIRED_KEYS, "job_name", "step_name"),
            optional=(*OpenAIFileConfig.OPTIONAL_KEYS, *ServerCleanup.KEYS, *RoundRules.KEYS, *names),
        )
        job_name = str(reader.value("job_name"))
        return cls(
            collect=CollectSettings(OpenAIFileConfig.from_custom(reader), ServerCleanup.from_reader(reader)),
            rules=RoundRules.from_reader(reader),
            job=JobTaskSettings.from_custom(reader.mapping("job"), job_name),
            job_name=job_name,
            step_name=str(reader.value("step_name")),
            memory=reader.optional_str("memory"),
        )
