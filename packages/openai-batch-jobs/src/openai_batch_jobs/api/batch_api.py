"""Facts of OpenAI's Batch API that every part checks against, and how a batch's own errors read.

Kept in one place so the upload's validation, the batch task's config check and the connector agree;
the values are OpenAI's (the OpenAPI description's `CreateBatchRequest` and the Batch guide).
The emulator keeps its own copy of the endpoints as its data; a workspace test checks they agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Endpoints a batch may target (CreateBatchRequest.endpoint).
BATCH_ENDPOINTS = frozenset(
    {
        "/v1/responses",
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/completions",
        "/v1/moderations",
        "/v1/images/generations",
        "/v1/images/edits",
        "/v1/videos",
    }
)
# Endpoints whose request body may leave out `model` (the server then picks its default).
MODEL_OPTIONAL_ENDPOINTS = frozenset({"/v1/moderations"})

# Input limits: requests per batch, bytes per input file, embedding inputs over all requests of a batch.
MAX_REQUESTS_PER_BATCH = 50_000
MAX_INPUT_FILE_BYTES = 200 * 1024 * 1024
MAX_EMBEDDING_INPUTS_PER_BATCH = 50_000

COMPLETION_WINDOWS = ("24h",)
# Batch metadata: pairs, and characters of a key and of a value.
MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 512
# `output_expires_after.seconds` (anchor `created_at`): one hour to 30 days.
MIN_OUTPUT_EXPIRY_SECONDS = 3600
MAX_OUTPUT_EXPIRY_SECONDS = 2_592_000

# Statuses of a batch still moving, and of one that will not change again.
ACTIVE_STATUSES = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})
# Terminal statuses that may leave results for part of the requests (kept with accept_partial_results).
PARTIAL_STATUSES = frozenset({"expired", "cancelled"})

# How many of a batch's errors a message quotes; the rest are only counted.
SHOWN_ERRORS = 5


def batch_label(batch: Mapping[str, Any]) -> str:
    """The batch's id, as messages name it."""
    return str(batch.get("id") or "(unknown id)")


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


def job_counts(batches: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """A job's progress for the connector's custom_info: parts done of all, requests completed and failed.

    ``batches`` is the newest batch dict of each part (None-free); a part is done when its batch is
    terminal. The counts are the batches' own ``request_counts``, so they move while batches run.
    """
    done = total = completed = failed = 0
    for batch in batches:
        if batch.get("status") in TERMINAL_STATUSES:
            done += 1
        counts = batch.get("request_counts")
        if isinstance(counts, Mapping):
            total += int(counts.get("total") or 0)
            completed += int(counts.get("completed") or 0)
            failed += int(counts.get("failed") or 0)
    return {
        "parts": len(batches),
        "parts_done": done,
        "requests": total,
        "requests_completed": completed,
        "requests_failed": failed,
    }
