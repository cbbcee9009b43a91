"""Batch API prices per model: the one table the results' cost estimate reads, and how to override it.

Meant to be: OpenAI's pricing page (https://platform.openai.com/docs/pricing), the "Batch" prices, in US
dollars per million tokens (Batch prices are half the standard ones). NOT verified against that page:
it could not be read where this table was written. On PRICES_AS_OF the gpt-5, gpt-4.1 and gpt-4o
families, o1, o4-mini and text-embedding-3 rows were cross-checked against third-party copies of it
(pydantic/genai-prices' and outl1ne/openai-pricing's price files, which cite OpenAI's page, and pricing
articles), which agree with them; for o3 and o3-mini those copies disagree with each other (some show
prices from before OpenAI's cuts; the newer, lower ones are kept); gpt-3.5-turbo and
text-embedding-ada-002 were not checked. It is a snapshot, not fetched at run time (task pods may
have no route to the internet), so prices OpenAI changed since then are wrong here until the table is
updated: check the rows you rely on.

Give your own prices (a negotiated rate, a model not listed, a newer price) with the ``prices`` argument
of `create_batch` (``{model: [input, output]}``, JSON in the collect task's template), or of
`report.job_report.summarize_job` / `report.summary.SummaryBuilder.build`: they are laid over this
table. A model in neither is "unknown", never free.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PRICES_SOURCE = (
    "https://platform.openai.com/docs/pricing (Batch prices), as copied by third parties; not verified "
    "against OpenAI's page"
)
PRICES_AS_OF = "2026-11-28"


@dataclass(frozen=True)
class ModelPrice:
    """US dollars per million tokens: prompt (input) tokens and completion (output) tokens."""

    input_per_million: float
    output_per_million: float = 0.0

    def __post_init__(self) -> None:
        if self.input_per_million < 0 or self.output_per_million < 0:
            raise ValueError(f"a price cannot be negative: {self}")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_million + completion_tokens * self.output_per_million) / 1e6


# Batch API prices (USD per 1M tokens: input, output). Dated snapshots priced like their model are
# found through the model's name (see `price_of`); a snapshot priced otherwise is listed itself.
BATCH_PRICES: Mapping[str, ModelPrice] = {
    "gpt-5": ModelPrice(0.625, 5.00),
    "gpt-5-mini": ModelPrice(0.125, 1.00),
    "gpt-5-nano": ModelPrice(0.025, 0.20),
    "gpt-4.1": ModelPrice(1.00, 4.00),
    "gpt-4.1-mini": ModelPrice(0.20, 0.80),
    "gpt-4.1-nano": ModelPrice(0.05, 0.20),
    "gpt-4o": ModelPrice(1.25, 5.00),
    "gpt-4o-2024-05-13": ModelPrice(2.50, 7.50),
    "gpt-4o-mini": ModelPrice(0.075, 0.30),
    "o1": ModelPrice(7.50, 30.00),
    "o3": ModelPrice(1.00, 4.00),
    "o3-mini": ModelPrice(0.55, 2.20),
    "o4-mini": ModelPrice(0.55, 2.20),
    "gpt-3.5-turbo": ModelPrice(0.25, 0.75),
    "text-embedding-3-small": ModelPrice(0.01),
    "text-embedding-3-large": ModelPrice(0.065),
    "text-embedding-ada-002": ModelPrice(0.05),
}

# A dated snapshot: "gpt-4o-mini-2024-07-18" is priced as "gpt-4o-mini" unless listed itself.
_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def price_of(model: str, prices: Mapping[str, ModelPrice] | None = None) -> ModelPrice | None:
    """The Batch price of ``model`` (``prices`` first, then `BATCH_PRICES`); None when neither knows it."""
    table = {**BATCH_PRICES, **(prices or {})}
    found = table.get(model)
    if found is None and _SNAPSHOT.search(model):
        found = table.get(_SNAPSHOT.sub("", model))
    return found


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


def prices_to_custom(prices: Mapping[str, ModelPrice]) -> dict[str, list[float]]:
    """The prices as `parse_prices` reads them back (JSON in a task template)."""
    return {model: [p.input_per_million, p.output_per_million] for model, p in prices.items()}
