"""Accounts for every request of a batch: succeeded, failed, or missing from both result files.

A batch can finish (or expire, or be cancelled) with requests in neither file; without this check
they would silently vanish from the workflow's results.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .config import READ_BUFFER

# How many missing custom_ids a warning or error names.
NAMED_MISSING = 5


@dataclass
class RequestTally:
    succeeded: int = 0
    failed: int = 0
    seen: set[str] = field(default_factory=set)

    def add_output_file(self, path: str) -> None:
        """Output lines carry a response; a non-2xx status there is a failed request."""
        for record in _records(path):
            response = record.get("response")
            status = response.get("status_code") if isinstance(response, dict) else None
            if record.get("error") is None and isinstance(status, int) and 200 <= status < 300:
                self.succeeded += 1
            else:
                self.failed += 1
            self._see(record)

    def add_error_file(self, path: str) -> None:
        for record in _records(path):
            self.failed += 1
            self._see(record)

    def _see(self, record: dict[str, Any]) -> None:
        custom_id = record.get("custom_id")
        if isinstance(custom_id, str):
            self.seen.add(custom_id)


@dataclass(frozen=True)
class Reconciliation:
    requests: int
    succeeded: int
    failed: int
    missing: list[str]

    def summary(self, batch_id: str) -> str:
        return (
            f"Batch {batch_id}: {self.requests} requests: {self.succeeded} succeeded, "
            f"{self.failed} failed, {len(self.missing)} missing"
        )

    def missing_message(self, batch_id: str) -> str:
        named = ", ".join(repr(i) for i in self.missing[:NAMED_MISSING])
        more = f" and {len(self.missing) - NAMED_MISSING} more" if len(self.missing) > NAMED_MISSING else ""
        return (
            f"Batch {batch_id}: {len(self.missing)} of {self.requests} requests are in neither the output "
            f"nor the error file: {named}{more}"
        )


def reconcile(input_path: str, tally: RequestTally) -> Reconciliation:
    """Compare the input file's custom_ids with those seen in the results, keeping input order."""
    requests = 0
    missing: list[str] = []
    for record in _records(input_path):
        custom_id = record.get("custom_id")
        if not isinstance(custom_id, str):
            continue
        requests += 1
        if custom_id not in tally.seen:
            missing.append(custom_id)
    return Reconciliation(requests=requests, succeeded=tally.succeeded, failed=tally.failed, missing=missing)


def _records(path: str) -> Iterator[dict[str, Any]]:
    """JSON objects of a JSONL file, one line at a time; lines that are not objects are skipped."""
    with open(path, "rb", buffering=READ_BUFFER) as stream:
        for raw in stream:
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record
