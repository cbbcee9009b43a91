"""The summary of a job's results as JSON: totals, failures by code, tokens, estimated cost, batch timelines.

`SummaryBuilder` takes the results table's rows as they are written (one pass, memory bounded by the
number of error codes and models, not of requests) and `SummaryBuilder.build` returns a JSON-ready
dict; the collect step logs it and the deck (`deck.render_deck`) shows it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

from openai_batch_jobs.report._table_rows import COLUMNS as _COLUMNS
from openai_batch_jobs.report.prices import PRICES_AS_OF, PRICES_SOURCE, ModelPrice, price_of

# How many distinct error codes get a line of their own; the rest are counted under "other".
SHOWN_CODES = 50
# The most characters of an example error message kept.
EXAMPLE_CHARS = 300
# A batch's phases, each from the timestamp that starts it to the one that starts the next.
PHASES = (("validating", "created_at"), ("in_progress", "in_progress_at"), ("finalizing", "finalizing_at"))
_ENDS = ("completed_at", "failed_at", "expired_at", "cancelled_at")


@dataclass
class _Tokens:
    requests: int = 0
    prompt: int = 0
    completion: int = 0


@dataclass
class SummaryBuilder:
    """Totals of the table's rows, added one at a time by `results_table.write_results_table`."""

    statuses: Counter[str] = field(default_factory=Counter)
    attempts: Counter[int] = field(default_factory=Counter)
    resent: int = 0
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, _Tokens] = field(default_factory=dict)

    def add_columns(self, columns: Sequence[Sequence[Any]]) -> None:
        """Count rows of the table, given as its columns' values (in `results_table.COLUMNS`' order)."""
        values = dict(zip(_COLUMNS, columns, strict=True))
        statuses = values["status"]
        self.statuses.update(statuses)
        attempts = Counter(a for a in values["attempts"] if a is not None)
        self.attempts.update(attempts)
        self.resent += sum(count for number, count in attempts.items() if number > 1)
        answered = [status == "succeeded" for status in statuses]
        codes = values["error_code"]
        for index in (i for i, ok in enumerate(answered) if not ok):
            entry = self.failures.get(codes[index] or "unknown_error")
            if entry is not None:
                entry["count"] += 1
            else:  # the code's first failure: its example
                self._failure({name: column[index] for name, column in values.items()})
        models = [model or "(no model)" for model in compress(values["model"], answered)]
        prompts = compress(values["prompt_tokens"], answered)
        completions = compress(values["completion_tokens"], answered)
        if len(set(models)) == 1:  # the usual job: one model, summed in C
            self._add_tokens(
                models[0], len(models), sum(filter(None, prompts)), sum(filter(None, completions))
            )
            return
        for model, prompt, completion in zip(models, prompts, completions, strict=True):
            self._add_tokens(model, 1, prompt or 0, completion or 0)

    def _add_tokens(self, model: str, requests: int, prompt: int, completion: int) -> None:
        tokens = self.tokens.setdefault(model, _Tokens())
        tokens.requests += requests
        tokens.prompt += prompt
        tokens.completion += completion

    def _failure(self, row: Mapping[str, Any]) -> None:
        code = str(row.get("error_code") or "unknown_error")
        if code not in self.failures and len(self.failures) >= SHOWN_CODES:
            code = "other"
        entry = self.failures.setdefault(
            code,
            {
                "code": code,
                "count": 0,
                "http_status": row.get("http_status"),
                "example": {
                    "custom_id": row.get("custom_id"),
                    "message": str(row.get("error_message") or "")[:EXAMPLE_CHARS],
                },
            },
        )
        entry["count"] += 1

    def build(
        self,
        rounds: Sequence[Sequence[Mapping[str, Any]]] = (),
        *,
        prices: Mapping[str, ModelPrice] | None = None,
        max_request_attempts: int | None = None,
    ) -> dict[str, Any]:
        """The summary as a JSON-ready dict.

        ``rounds`` holds each round's batch dicts (as the job returned them, in part order), for the
        timelines; ``prices`` are laid over the Batch price table (`core.prices.BATCH_PRICES`).
        """
        requests = sum(self.statuses.values())
        reported = reported_usage(rounds)
        if reported is not None:
            # The server's own count (each batch's `usage`) wins over the answers' lines, model by model.
            for model, (prompt_tokens, completion_tokens) in reported.items():
                tokens = self.tokens.setdefault(model, _Tokens())
                tokens.prompt, tokens.completion = prompt_tokens, completion_tokens
        prompt = sum(t.prompt for t in self.tokens.values())
        completion = sum(t.completion for t in self.tokens.values())
        source = "reported" if reported is not None else "counted"
        return {
            "requests": requests,
            "succeeded": self.statuses["succeeded"],
            "failed": self.statuses["failed"],
            "missing": self.statuses["missing"],
            "resent": self.resent,
            "max_request_attempts": max_request_attempts,
            "attempts": {str(n): self.attempts[n] for n in sorted(self.attempts)},
            "failures": sorted(self.failures.values(), key=lambda f: (-f["count"], f["code"])),
            "tokens": {
                "prompt": prompt,
                "completion": completion,
                "total": prompt + completion,
                "source": source,
            },
            "cost": self._cost(prices),
            "batches": [
                timeline(batch, round_number, part)
                for round_number, batches in enumerate(rounds, 1)
                for part, batch in enumerate(batches, 1)
            ],
        }

    def _cost(self, prices: Mapping[str, ModelPrice] | None) -> dict[str, Any]:
        models = []
        known = 0.0
        unknown = []
        for model in sorted(self.tokens):
            tokens = self.tokens[model]
            price = price_of(model, prices)
            usd = None if price is None else price.cost(tokens.prompt, tokens.completion)
            if usd is None:
                unknown.append(model)
            else:
                known += usd
            models.append(
                {
                    "model": model,
                    "requests": tokens.requests,
                    "prompt_tokens": tokens.prompt,
                    "completion_tokens": tokens.completion,
                    "usd": usd,
                    "price_per_million": None
                    if price is None
                    else {"input": price.input_per_million, "output": price.output_per_million},
                }
            )
        return {
            "currency": "USD",
            # The sum over the models with a known price; unknown models are listed, never counted as 0.
            "known_usd": known,
            "unknown_models": unknown,
            "models": models,
            "source": PRICES_SOURCE,
            "as_of": PRICES_AS_OF,
            "overridden": sorted(prices or {}),
        }


def timeline(batch: Mapping[str, Any], round_number: int, part: int) -> dict[str, Any]:
    """A batch's phases as [start, end] Unix times (None when it never reached a phase), and its counts."""
    stamps = {name: batch.get(name) for name in ("created_at", "in_progress_at", "finalizing_at", *_ENDS)}
    end = next((stamps[name] for name in _ENDS if isinstance(stamps[name], int)), None)
    phases: dict[str, list[int] | None] = {}
    starts = [(phase, stamps[key]) for phase, key in PHASES]
    for i, (phase, start) in enumerate(starts):
        if not isinstance(start, int):
            phases[phase] = None
            continue
        later = [s for _, s in starts[i + 1 :] if isinstance(s, int)]
        stop = later[0] if later else end
        phases[phase] = [start, stop if isinstance(stop, int) else start]
    counts = batch.get("request_counts")
    return {
        "round": round_number,
        "part": part,
        "id": batch.get("id"),
        "status": batch.get("status"),
        "model": (batch.get("model") or None),
        "request_counts": dict(counts) if isinstance(counts, Mapping) else None,
        "created_at": stamps["created_at"],
        "ended_at": end,
        "phases": phases,
    }


def reported_usage(rounds: Sequence[Sequence[Mapping[str, Any]]]) -> dict[str, tuple[int, int]] | None:
    """Input and output tokens per model as the server reported them (each batch's `usage` and `model`),
    or None unless every batch of the job reports both: a partial sum would read as the whole."""
    per_model: dict[str, tuple[int, int]] = {}
    batches = [batch for round_batches in rounds for batch in round_batches]
    for batch in batches:
        usage, model = batch.get("usage"), batch.get("model")
        if not isinstance(usage, Mapping) or not isinstance(model, str) or not model:
            return None
        prompt, completion = per_model.get(model, (0, 0))
        per_model[model] = (
            prompt + int(usage.get("input_tokens") or 0),
            completion + int(usage.get("output_tokens") or 0),
        )
    return per_model or None
