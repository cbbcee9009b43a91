"""How a batch's own error list reads in messages, for the download task and the connector alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# How many of a batch's errors a message quotes; the rest are only counted.
SHOWN_ERRORS = 5


def batch_errors(batch: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The entries of the batch's ``errors.data`` (absent or malformed reads as none)."""
    errors = batch.get("errors")
    data = errors.get("data") if isinstance(errors, Mapping) else None
    return [e for e in data or [] if isinstance(e, Mapping)]


def batch_error_text(batch: Mapping[str, Any]) -> str:
    """The first errors as ``[code] message (line N)``, joined; "no error details given" if there are none."""
    errors = batch_errors(batch)
    if not errors:
        return "no error details given"
    texts = []
    for error in errors[:SHOWN_ERRORS]:
        line = f" (line {error['line']})" if error.get("line") is not None else ""
        texts.append(f"[{error.get('code')}] {error.get('message')}{line}")
    more = f"; and {len(errors) - SHOWN_ERRORS} more" if len(errors) > SHOWN_ERRORS else ""
    return "; ".join(texts) + more
