"""A job's budget of enqueued tokens (``max_enqueued_tokens``): parts start only while their model's
running batches stay within it.

OpenAI limits, per organization and model, the prompt tokens of the batches in flight; a batch past
the limit fails (`token_limit_exceeded`) and waits to be submitted again. A budget at or below that
limit keeps the job from meeting it: each part's enqueued-token bound (`inputs.estimate`, never
below the server's count) is read from its file's name (`inputs.part_names`), and a part is held
while the bounds of its model's running batches plus its own would pass the budget. Parts start in
order (a held part holds the later parts of its model, so a large one is not passed by ever smaller
ones); a part larger than the whole budget starts alone, when nothing of its model runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openai_batch_jobs.errors import BatchConfigError
from openai_batch_jobs.job.status import QUEUED, PartStage
from openai_batch_jobs.report.prices import ModelPrice, price_of

# The budget's key for every model it does not name.
ANY_MODEL = "*"


@dataclass(frozen=True)
class TokenBudget:
    """Enqueued prompt tokens per model (`ANY_MODEL`: every model not named); empty: no budget."""

    limits: Mapping[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.limits)

    def of(self, model: str | None) -> int | None:
        """The budget of ``model``'s batches; None: not limited."""
        return self.limits.get(model or "", self.limits.get(ANY_MODEL))

    def to_custom(self) -> dict[str, int]:
        return dict(self.limits)

    @classmethod
    def parse(
        cls,
        value: Any,
        where: str,
        prices: Mapping[str, ModelPrice] | None = None,
        *,
        check_models: bool = True,
    ) -> TokenBudget:
        """``max_enqueued_tokens`` as given: None, one figure for every model, or ``{model: tokens}``.

        Each figure is a whole number of tokens above 0; with ``check_models``, a model the price table
        (and ``prices``) does not know is refused as a likely typo. BatchConfigError names the knob.
        """
        if value is None or isinstance(value, TokenBudget):
            return value or cls()
        if isinstance(value, Mapping):
            if not value:
                raise _error(where, value, "an empty map")
            return cls(
                {_model(k, where, prices, check_models): _tokens(v, where, k) for k, v in value.items()}
            )
        return cls({ANY_MODEL: _tokens(value, where, None)})


def _tokens(value: Any, where: str, model: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a template's numbers travel as floats
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        of = f" for {model!r}" if model is not None else ""
        raise _error(where, value, f"{value!r}{of}")
    return value


def _model(model: Any, where: str, prices: Mapping[str, ModelPrice] | None, check: bool) -> str:
    if not isinstance(model, str) or not model:
        raise _error(where, model, f"the key {model!r}")
    if check and model != ANY_MODEL and price_of(model, prices) is None:
        raise BatchConfigError(
            f"max_enqueued_tokens of {where} names model {model!r}, which this plugin does not know (a "
            f"typo?). Name the model as the requests do, use {ANY_MODEL!r} for every model, or, in "
            "create_batch, give its price in prices."
        )
    return model


def _error(where: str, value: Any, got: str) -> BatchConfigError:
    return BatchConfigError(
        f"max_enqueued_tokens of {where} must be a whole number of tokens above 0, or a map "
        f"{{model: tokens}} of them ({ANY_MODEL!r}: every model not named), got {got}."
    )


@dataclass
class BudgetView:
    """What the budget did at one look: tokens in flight per model, and the parts it held."""

    in_flight: dict[str, int] = field(default_factory=dict)
    held: list[int] = field(default_factory=list)

    def custom_info(self, budget: TokenBudget) -> dict[str, Any]:
        return {
            "enqueued_tokens": {
                model or "(none)": {"in_flight": tokens, "budget": budget.of(model)}
                for model, tokens in self.in_flight.items()
            },
            "held_parts": self.held,
        }


def hold_parts(
    parts: Sequence[Any], budget: TokenBudget, tokens: Sequence[tuple[int, str | None]]
) -> BudgetView:
    """Mark `PartStage.HELD` (with a note) the queued parts that would take their model past the budget.

    ``parts`` are the job's `PartState`s in order; ``tokens`` each part's bound and model. The parts left
    queued are counted as started, so that every part this look lets through fits at once.
    """
    view = BudgetView()
    for part in parts:
        if part.state is PartStage.RUNNING:
            bound, model = tokens[part.index]
            view.in_flight[model or ""] = view.in_flight.get(model or "", 0) + bound
    blocked: set[str] = set()
    for part in parts:
        if part.state not in QUEUED:
            continue
        bound, model = tokens[part.index]
        key, limit = model or "", budget.of(model)
        used = view.in_flight.get(key, 0)
        if limit is None or (key not in blocked and (used + bound <= limit or used == 0)):
            view.in_flight[key] = used + bound
            continue
        blocked.add(key)
        part.state = PartStage.HELD
        part.note = (
            f"waiting for room in max_enqueued_tokens: needs {bound:,} estimated prompt tokens of "
            f"{model or 'its model'}, {used:,} of {limit:,} in flight"
        )
        view.held.append(part.index)
    return view
