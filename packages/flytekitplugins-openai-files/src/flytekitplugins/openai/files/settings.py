"""The typed settings of the upload and download tasks: what each writes into its template's `custom`.

The task writes them (`to_custom`) when it is serialized; its executor, in the pod, reads them back
(`from_custom`) from the template alone. Each class is the only code that knows its keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openai_batch_jobs.inputs.limits import PartLimits
from openai_batch_jobs.report.prices import ModelPrice
from openai_batch_jobs.results.request_retry import check_attempts
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
    """The upload-parts task's custom: the file config's keys, `part_limits`, `endpoint`, `check_connector_key`."""

    file_config: OpenAIFileConfig
    limits: PartLimits = field(default_factory=PartLimits)
    endpoint: str | None = None
    check_connector_key: bool = False

    def to_custom(self) -> dict[str, Any]:
        return {
            **self.file_config.to_custom(),
            "part_limits": self.limits.to_custom(),
            "endpoint": self.endpoint,
            "check_connector_key": self.check_connector_key,
        }

    @classmethod
    def from_custom(
        cls, custom: Mapping[str, Any] | None, task_name: str | None = None
    ) -> UploadPartsSettings:
        task = task_label(UPLOAD_PARTS_TASK_TYPE, task_name)
        reader = CustomReader(
            custom,
            task=task,
            required=OpenAIFileConfig.REQUIRED_KEYS,
            optional=(*OpenAIFileConfig.OPTIONAL_KEYS, "part_limits", "endpoint", "check_connector_key"),
        )
        return cls(
            file_config=OpenAIFileConfig.from_custom(reader),
            limits=PartLimits.from_custom(reader.mapping("part_limits"), task),
            endpoint=reader.optional_str("endpoint"),
            check_connector_key=reader.boolean("check_connector_key", False),
        )


@dataclass(frozen=True)
class CollectSettings:
    """The collect task's custom: the file config's keys, what to do with missing requests and the
    server's files once the results are downloaded, and the request-retry round it is.

    ``attempt`` is the round (from 1) of ``max_request_attempts``; with more than one round, or with
    ``results_table``, the collect step sorts the round's results (`request_retry.collect_round`) and
    uploads the requests to send again as parts within ``limits`` for ``endpoint``. ``prices`` (USD per
    million tokens, ``{model: [input, output]}``) are laid over the built-in Batch price table.
    """

    file_config: OpenAIFileConfig
    fail_on_missing_requests: bool = False
    delete_input_files: bool = True
    delete_result_files: bool = False
    attempt: int = 1
    max_request_attempts: int = 1
    results_table: bool = False
    prices: Mapping[str, ModelPrice] = field(default_factory=dict)
    limits: PartLimits = field(default_factory=PartLimits)
    endpoint: str | None = None

    def __post_init__(self) -> None:
        check_attempts(self.attempt, self.max_request_attempts)

    @property
    def sorts_rounds(self) -> bool:
        """Whether this step sorts its round into answers, final errors and retries (else it only joins files)."""
        return self.max_request_attempts > 1 or self.results_table

    def to_custom(self) -> dict[str, Any]:
        return {
            **self.file_config.to_custom(),
            "fail_on_missing_requests": self.fail_on_missing_requests,
            "delete_input_files": self.delete_input_files,
            "delete_result_files": self.delete_result_files,
            "attempt": self.attempt,
            "max_request_attempts": self.max_request_attempts,
            "results_table": self.results_table,
            "prices": {m: [p.input_per_million, p.output_per_million] for m, p in self.prices.items()},
            "part_limits": self.limits.to_custom(),
            "endpoint": self.endpoint,
        }

    @classmethod
    def from_custom(cls, custom: Mapping[str, Any] | None, task_name: str | None = None) -> CollectSettings:
        flags = ("fail_on_missing_requests", "delete_input_files", "delete_result_files", "results_table")
        task = task_label(COLLECT_TASK_TYPE, task_name)
        reader = CustomReader(
            custom,
            task=task,
            required=OpenAIFileConfig.REQUIRED_KEYS,
            optional=(
                *OpenAIFileConfig.OPTIONAL_KEYS,
                *flags,
                "attempt",
                "max_request_attempts",
                "prices",
                "part_limits",
                "endpoint",
            ),
        )
        try:
            return cls(
                file_config=OpenAIFileConfig.from_custom(reader),
                fail_on_missing_requests=reader.boolean("fail_on_missing_requests", False),
                delete_input_files=reader.boolean("delete_input_files", True),
                delete_result_files=reader.boolean("delete_result_files", False),
                attempt=reader.integer("attempt", 1),
                max_request_attempts=reader.integer("max_request_attempts", 1),
                results_table=reader.boolean("results_table", False),
                prices=parse_prices(reader.mapping("prices")),
                limits=PartLimits.from_custom(reader.mapping("part_limits"), task),
                endpoint=reader.optional_str("endpoint"),
            )
        except ValueError as e:
            raise reader.error(str(e)) from None


def parse_prices(prices: Mapping[str, Any] | None) -> dict[str, ModelPrice]:
    """``{model: [input, output]}`` or ``{model: ModelPrice}`` (USD per million tokens) as ModelPrices."""
    parsed: dict[str, ModelPrice] = {}
    for model, price in (prices or {}).items():
        if isinstance(price, ModelPrice):
            parsed[model] = price
            continue
        values = [price] if isinstance(price, int | float) else price
        if (
            not isinstance(model, str)
            or not isinstance(values, list | tuple)
            or not 1 <= len(values) <= 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        ):
            raise ValueError(
                f"the price of {model!r} must be [input, output] US dollars per million tokens, got {price!r}"
            )
        parsed[model] = ModelPrice(*(float(v) for v in values))
    return parsed
