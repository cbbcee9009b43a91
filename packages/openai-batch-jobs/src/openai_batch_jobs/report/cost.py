"""A job's cost, estimated before anything is uploaded, and the cap (``max_cost_usd``) that refuses it.

The validation pass counts the requests' tokens (`inputs.estimate`); this module prices them with the
deck's table (`prices`): the low figure is the prompt tokens alone, the high one adds the most every
answer may hold. A job whose high figure is above the cap, or whose model has no known price while a
cap is set, is refused before the upload (nothing is uploaded, nothing billed), or, given to a job
task as files uploaded already, before any batch is created (from the figures in the parts' file
names, `inputs.part_names`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openai_batch_jobs.errors import BatchConfigError
from openai_batch_jobs.inputs.estimate import DEFAULT_OUTPUT_TOKENS, TokenTotals, method
from openai_batch_jobs.messages import counted
from openai_batch_jobs.report.prices import ModelPrice, price_of


@dataclass(frozen=True)
class CostEstimate:
    """What a request file may cost: its tokens, its model's price (None: unknown) and the two figures."""

    model: str | None
    tokens: TokenTotals
    price: ModelPrice | None

    @property
    def low(self) -> float | None:
        return None if self.price is None else self.price.cost(self.tokens.prompt, 0)

    @property
    def high(self) -> float | None:
        return None if self.price is None else self.price.cost(self.tokens.prompt, self.tokens.output)

    def figures(self) -> str:
        """``$0.0012 to $0.0345 (gpt-4o-mini)``, or the unknown price said."""
        model = self.model or "no model"
        if self.low is None or self.high is None:
            return f"unknown: no Batch price is known for {model}"
        return f"{_usd(self.low)} to {_usd(self.high)} ({model})"

    def line(self) -> str:
        """The line the upload step prints: both figures, the tokens behind them and how they were counted."""
        t = self.tokens
        assumed = (
            f"; {DEFAULT_OUTPUT_TOKENS:,} assumed for {counted(t.defaulted, 'request')} that set no limit"
            if t.defaulted
            else ""
        )
        return (
            f"Cost estimate: {self.figures()} for {counted(t.requests, 'request')}: "
            f"{t.prompt:,} prompt tokens ({method()}), and at most {t.output:,} output tokens "
            f"(each request's max_completion_tokens / max_tokens / max_output_tokens{assumed}). "
            "Low: the prompt tokens alone; high: with every answer as long as it may be."
        )


def estimate_cost(
    model: str | None, tokens: TokenTotals, prices: Mapping[str, ModelPrice] | None = None
) -> CostEstimate:
    """The estimate of a file of ``tokens`` for ``model``, priced by ``prices`` over the built-in table."""
    return CostEstimate(model, tokens, price_of(model, prices) if model else ModelPrice(0.0))


# Where a cap refuses a job: before its upload (the upload steps), or before its batches (a job task
# given files uploaded already): what the job was refused before, and what that spared.
BEFORE_UPLOAD = ("uploading it", "Nothing was uploaded.")
BEFORE_BATCHES = ("creating any batch", "No batch was created: nothing was billed.")


def check_cost(
    estimates: CostEstimate | Sequence[CostEstimate],
    max_cost_usd: float | None,
    where: str,
    stage: tuple[str, str] = BEFORE_UPLOAD,
) -> None:
    """Refuse a job (of one estimate per model) over the cap, or of an unknown price under one, before
    ``stage`` (`BEFORE_UPLOAD`, `BEFORE_BATCHES`)."""
    if max_cost_usd is None:
        return
    estimates = [estimates] if isinstance(estimates, CostEstimate) else list(estimates)
    before, spared = stage
    unpriced = [repr(e.model) for e in estimates if e.high is None]
    if unpriced:
        named = f"model {unpriced[0]}" if len(unpriced) == 1 else f"models {', '.join(unpriced)}"
        raise BatchConfigError(
            f"{where} refused the job before {before}: max_cost_usd is {_usd(max_cost_usd)}, but no "
            f"Batch price is known for {named}, so its cost cannot be held under the cap. "
            f"Name it in prices ({{{unpriced[0]}: [input, output]}} US dollars per million tokens)."
        )
    if sum(e.high or 0.0 for e in estimates) > max_cost_usd:
        raise BatchConfigError(
            f"{where} refused the job before {before}: its cost estimate is {figures(estimates)}, "
            f"and the high figure is above max_cost_usd {_usd(max_cost_usd)}. {spared} Lower "
            "the requests' max_tokens (or max_completion_tokens / max_output_tokens), send fewer "
            "requests, or raise max_cost_usd."
        )


def figures(estimates: Sequence[CostEstimate]) -> str:
    """Both figures of a job of one estimate per model: ``$0.0012 to $0.0345 (gpt-4o-mini, gpt-4o)``."""
    if len(estimates) == 1:
        return estimates[0].figures()
    low = sum(e.low or 0.0 for e in estimates)
    high = sum(e.high or 0.0 for e in estimates)
    models = ", ".join(e.model or "no model" for e in estimates)
    return f"{_usd(low)} to {_usd(high)} ({models})"


def check_max_cost(value: Any, where: str) -> float | None:
    """``max_cost_usd`` as a number of US dollars above 0 (None: no cap); BatchConfigError naming it."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise BatchConfigError(
            f"max_cost_usd of {where} must be a number of US dollars above 0 (or None for no cap), got {value!r}."
        )
    return float(value)


def _usd(value: float) -> str:
    """Four decimals, or six under a cent (a small job's estimate is not shown as nothing)."""
    return f"${value:,.6f}" if value < 0.01 else f"${value:,.4f}"
