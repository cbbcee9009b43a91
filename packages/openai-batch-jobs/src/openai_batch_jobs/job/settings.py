"""The typed settings of the batch tasks: what each writes into its template's `custom`.

A task writes them (`to_custom`) when it is serialized; the connector reads them back
(`from_custom`) from whatever template propeller sends, which another plugin version or client may
have written. These classes are the only code that knows the keys. A job's settings also travel in
its resource meta, so every GetTask of the job runs under the settings its CreateTask read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openai_batch_jobs.api.batch_config import TASK_TYPE, BatchConfig
from openai_batch_jobs.errors import BatchConfigError
from openai_batch_jobs.job.budget import TokenBudget
from openai_batch_jobs.report.cost import check_max_cost
from openai_batch_jobs.report.prices import ModelPrice, parse_prices, prices_to_custom
from openai_batch_jobs.settings import CustomReader, task_label

JOB_TASK_TYPE = "openai-batch-job"


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


# Batches of one job in flight at once. OpenAI's queue limit is on enqueued tokens, not batches; this
# bounds how much of it one job takes (and the listing GetTask reads).
DEFAULT_MAX_IN_FLIGHT = 8
# A batch failed for `token_limit_exceeded` is submitted again after this wait, at most this often.
DEFAULT_TOKEN_LIMIT_WAIT_S = 300.0
DEFAULT_TOKEN_LIMIT_ATTEMPTS = 12


@dataclass(frozen=True)
class JobTaskSettings:
    """A job's batch `config` (checked with `BatchConfig.parse`), where its batches run, and how many
    may run at once and wait for room in OpenAI's queue."""

    config: Mapping[str, Any] = field(default_factory=dict)
    openai_organization: str | None = None
    base_url: str | None = None
    accept_partial_results: bool = False
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    token_limit_wait_s: float = DEFAULT_TOKEN_LIMIT_WAIT_S
    token_limit_attempts: int = DEFAULT_TOKEN_LIMIT_ATTEMPTS
    # Delete the job's input files from the server when it fails for good or is aborted.
    delete_input_files: bool = True
    # A later round sends an expired or cancelled batch's unanswered requests again (`create_batch`
    # with more than one request attempt): such a part is done with the results it has.
    resend_unanswered: bool = False
    # Enqueued prompt tokens per model the job's running batches may hold (`budget`); empty: no budget.
    max_enqueued_tokens: TokenBudget = field(default_factory=TokenBudget)
    # Refuse the job before any batch when its parts' cost estimate (from their files' names) is above
    # this many US dollars; `prices` lays the user's prices over the built-in table for it.
    max_cost_usd: float | None = None
    prices: Mapping[str, ModelPrice] = field(default_factory=dict)

    @property
    def keeps_partial_batches(self) -> bool:
        """Whether an expired or cancelled batch with result files counts as its part's results."""
        return self.accept_partial_results or self.resend_unanswered

    def check(self, task_name: str | None = None) -> None:
        """Refuse settings the connector could not run, naming the setting."""
        where = f"BatchJobTask {task_name!r}" if task_name else "a BatchJobTask"
        self.batch_config(task_name)
        if self.max_in_flight < 1:
            raise BatchConfigError(f"max_in_flight of {where} must be at least 1, got {self.max_in_flight}.")
        if self.token_limit_wait_s < 0:
            raise BatchConfigError(
                f"token_limit_wait_s of {where} must be 0 or more seconds, got {self.token_limit_wait_s}."
            )
        if self.token_limit_attempts < 1:
            raise BatchConfigError(
                f"token_limit_attempts of {where} must be at least 1, got {self.token_limit_attempts}."
            )
        check_max_cost(self.max_cost_usd, where)

    def to_custom(self) -> dict[str, Any]:
        custom: dict[str, Any] = {
            "openai_organization": self.openai_organization,
            "config": dict(self.config),
            "max_in_flight": self.max_in_flight,
            "token_limit_wait_s": self.token_limit_wait_s,
            "token_limit_attempts": self.token_limit_attempts,
        }
        if self.base_url:
            custom["base_url"] = self.base_url
        if self.accept_partial_results:
            custom["accept_partial_results"] = True
        if not self.delete_input_files:
            custom["delete_input_files"] = False
        if self.resend_unanswered:
            custom["resend_unanswered"] = True
        if self.max_enqueued_tokens:
            custom["max_enqueued_tokens"] = self.max_enqueued_tokens.to_custom()
        if self.max_cost_usd is not None:
            custom["max_cost_usd"] = self.max_cost_usd
        if self.prices:
            custom["prices"] = prices_to_custom(self.prices)
        return custom

    @classmethod
    def from_custom(cls, custom: Mapping[str, Any] | None, task_name: str | None = None) -> JobTaskSettings:
        reader = CustomReader(
            custom,
            task=task_label(JOB_TASK_TYPE, task_name),
            optional=(
                "openai_organization",
                "config",
                "base_url",
                "accept_partial_results",
                "max_in_flight",
                "token_limit_wait_s",
                "token_limit_attempts",
                "delete_input_files",
                "resend_unanswered",
                "max_enqueued_tokens",
                "max_cost_usd",
                "prices",
            ),
        )
        config = reader.value("config")
        wait = reader.value("token_limit_wait_s", DEFAULT_TOKEN_LIMIT_WAIT_S)
        if isinstance(wait, bool) or not isinstance(wait, (int, float)):
            raise reader.error(f"'token_limit_wait_s' must be a number, got {wait!r}")
        return cls(
            config=config if config is not None else {},
            openai_organization=reader.optional_str("openai_organization"),
            base_url=reader.optional_str("base_url"),
            accept_partial_results=reader.boolean("accept_partial_results", False),
            max_in_flight=reader.integer("max_in_flight", DEFAULT_MAX_IN_FLIGHT),
            token_limit_wait_s=float(wait),
            token_limit_attempts=reader.integer("token_limit_attempts", DEFAULT_TOKEN_LIMIT_ATTEMPTS),
            delete_input_files=reader.boolean("delete_input_files", True),
            resend_unanswered=reader.boolean("resend_unanswered", False),
            max_enqueued_tokens=_budget(reader),
            max_cost_usd=_cap(reader),
            prices=_prices(reader),
        )

    def batch_config(self, task_name: str | None = None) -> BatchConfig:
        """The config checked against the Batch API's rules, with its defaults filled in."""
        return BatchConfig.parse(self.config, task_name=task_name)


def _budget(reader: CustomReader) -> TokenBudget:
    """The template's budget, as its task's declaration checked it (its models are not checked again)."""
    try:
        return TokenBudget.parse(reader.value("max_enqueued_tokens"), reader.task, check_models=False)
    except BatchConfigError as e:
        raise reader.error(str(e)) from None


def _cap(reader: CustomReader) -> float | None:
    cap = reader.value("max_cost_usd")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, (int, float))):
        raise reader.error(f"'max_cost_usd' must be a number, got {cap!r}")
    return None if cap is None else float(cap)


def _prices(reader: CustomReader) -> dict[str, ModelPrice]:
    prices = reader.value("prices")
    if prices is not None and not isinstance(prices, Mapping):
        raise reader.error(f"'prices' must be a map {{model: [input, output]}}, got {prices!r}")
    try:
        return parse_prices(prices)
    except ValueError as e:
        raise reader.error(f"'prices': {e}") from None
