"""Accounts for every request of a batch: succeeded, failed, or missing from both result files.

A batch can finish (or expire, or be cancelled) with requests in neither file; without this check
they would silently vanish from the workflow's results. The result files are read once, taking from
each line only its ``custom_id``, status code and error (msgspec decodes those fields and skips the
rest), and compared with the batch's own ``request_counts.total``: when the files hold exactly that
many requests, each once, none can be missing and the input file is not needed. Only when they
disagree is the input file read, to name the requests that are missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from openai_batch_jobs.inputs.hashset import HashSet
from openai_batch_jobs.inputs.request_keys import request_key
from openai_batch_jobs.json_lines import READ_BUFFER

# How many missing custom_ids a warning or error names.
NAMED_MISSING = 5


class _Response(msgspec.Struct):
    status_code: Any = None


class _ResultLine(msgspec.Struct):
    """The fields of an output or error line that the count needs; the response body is skipped."""

    custom_id: Any = None
    response: _Response | None = None
    error: Any = None


_RESULT_LINE = msgspec.json.Decoder(_ResultLine)


class RequestTally:
    """Counts the result files' requests; keeps only a hash of each custom_id, not the id itself.

    Distinct hashes prove distinct ids, so the hashes settle the usual case (every request once);
    a repeated hash (a repeated id, or a collision) sends the count to the input file, for which
    the ids themselves are read again.
    """

    def __init__(self, expected: int = 0) -> None:
        self.succeeded = 0
        self.failed = 0
        self._hashes = HashSet(expected)
        self._paths: list[str] = []

    def add_output_file(self, path: str) -> None:
        """Output lines carry a response; a non-2xx status there is a failed request."""
        self._paths.append(path)
        for custom_id, status, error in _result_lines(path):
            if error is None and isinstance(status, int) and 200 <= status < 300:
                self.succeeded += 1
            else:
                self.failed += 1
            self._see(custom_id)

    def add_error_file(self, path: str) -> None:
        self._paths.append(path)
        for custom_id, _, _ in _result_lines(path):
            self.failed += 1
            self._see(custom_id)

    def accounts_for(self, total: int) -> bool:
        """Whether the result files hold ``total`` requests, each once: then none can be missing."""
        return self.succeeded + self.failed == total == len(self._hashes)

    def seen_ids(self) -> set[str]:
        """The custom_ids in the result files, read again from them."""
        return {i for path in self._paths for i, _, _ in _result_lines(path) if isinstance(i, str)}

    def _see(self, custom_id: Any) -> None:
        if isinstance(custom_id, str):
            self._hashes.add(hash(custom_id))


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


def request_total(batch: Mapping[str, Any]) -> int | None:
    """The batch's own count of its requests (``request_counts.total``), if it has one."""
    counts = batch.get("request_counts")
    total = counts.get("total") if isinstance(counts, Mapping) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def counted_requests(batch: Mapping[str, Any], tally: RequestTally) -> Reconciliation | None:
    """The account from the batch's own request count, or None when the input file must be read.

    That is when the count is absent, or when the result files do not hold exactly that many
    distinct requests (some are missing, or a custom_id repeats).
    """
    total = request_total(batch)
    if total is None or not tally.accounts_for(total):
        return None
    return Reconciliation(requests=total, succeeded=tally.succeeded, failed=tally.failed, missing=[])


def reconcile(input_path: str, tally: RequestTally) -> Reconciliation:
    """Compare the input file's custom_ids with those seen in the results, keeping input order."""
    requests = 0
    missing: list[str] = []
    seen = tally.seen_ids()
    for custom_id in _input_ids(input_path):
        if not isinstance(custom_id, str):
            continue
        requests += 1
        if custom_id not in seen:
            missing.append(custom_id)
    return Reconciliation(requests=requests, succeeded=tally.succeeded, failed=tally.failed, missing=missing)


def _result_lines(path: str) -> Iterator[tuple[Any, Any, Any]]:
    """(custom_id, response status code, error) of each JSON object line of a result file."""
    for raw in _lines(path):
        try:
            line = _RESULT_LINE.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError):
            # A shape the fast decoder refuses (a response that is not an object, a non-object line,
            # JSON only the standard library accepts): judged field by field as before.
            record = _object(raw)
            if record is None:
                continue
            response = record.get("response")
            status = response.get("status_code") if isinstance(response, dict) else None
            yield record.get("custom_id"), status, record.get("error")
            continue
        yield line.custom_id, line.response.status_code if line.response else None, line.error


def _input_ids(path: str) -> Iterator[Any]:
    """The custom_id of each line of a request file (None for a line without one)."""
    for raw in _lines(path):
        yield request_key(raw)[0]


def _lines(path: str) -> Iterator[bytes]:
    with open(path, "rb", buffering=READ_BUFFER) as stream:
        for raw in stream:
            if not raw.isspace():
                yield raw


def _object(raw: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None
