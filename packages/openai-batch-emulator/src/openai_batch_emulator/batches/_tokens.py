"""Enqueued tokens: the estimated prompt tokens of the batches in flight, held against a model's limit.

A batch holds its input's tokens from the end of its validation until it finishes; one that would take
its model past `enqueued_token_limits` fails validation with OpenAI's `token_limit_exceeded`.
"""

from __future__ import annotations

from collections.abc import Iterable

from .record import BatchRecord

# Named in the enqueued-token limit's message, as OpenAI names the caller's organization.
ORGANIZATION = "org-emulator"


def in_flight(records: Iterable[BatchRecord], when: float) -> dict[str, int]:
    """Estimated prompt tokens of the batches in flight at `when`, per model."""
    totals: dict[str, int] = {}
    for record in records:
        if record.model is not None and record.enqueued_tokens and record.holds_tokens_at(when):
            totals[record.model] = totals.get(record.model, 0) + record.enqueued_tokens
    return totals


def limit_message(model: str, limit: int) -> str:
    return (
        f"Enqueued token limit reached for {model} in organization {ORGANIZATION}. "
        f"Limit: {limit:,} enqueued tokens. Please try again once some in_progress batches have "
        "been completed."
    )
