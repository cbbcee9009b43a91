"""A scheduled batch's requests answered in input order, each at its time, into its result files.

The request `i` (0-based) is answered at `in_progress_at + (i + 1) / rate`; `answer_until` writes the
answers due so far, so the files are the same however often the batch is advanced.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ..answers.reply import Context, Reply
from ..answers.responders import respond
from ..faults.request_failures import AttemptLedger, RequestFailures
from .jsonl import ERRORS, INPUT, OUTPUT, answer_line, iter_lines, line_seed, parse_line
from .record import BatchRecord

# Result files are written in large blocks: a line is typically a few hundred bytes.
WRITE_BUFFER = 1024 * 1024
# Seconds of work between two saves of the record while answering a long stretch of requests: what a
# crash can lose (and a restart recomputes), against the cost of saving after every few requests.
SAVE_SECONDS = 1.0
# Absorbs float rounding in `elapsed * rate`, so a request due exactly now counts as due.
EPSILON = 1e-9


def due(record: BatchRecord, when: float) -> int:
    """How many requests are answered by `when`."""
    assert record.in_progress is not None
    rate = record.knobs.requests_per_second
    elapsed = when - record.in_progress
    if rate <= 0 or elapsed <= 0:
        return 0
    return min(record.total, math.floor(elapsed * rate + EPSILON))


def answer_until(
    record: BatchRecord, target: int, work: Path, attempts: AttemptLedger, save: Callable[[BatchRecord], None]
) -> None:
    """Answer requests up to number `target`, appending to the result files being written."""
    if target <= record.processed:
        return
    answer = _Answerer(record, attempts)
    saved = time.monotonic()
    with (
        (work / OUTPUT).open("ab", buffering=WRITE_BUFFER) as out,
        (work / ERRORS).open("ab", buffering=WRITE_BUFFER) as err,
    ):
        for offset, raw in iter_lines(work / INPUT, record.input_offset):
            data, reply = answer(parse_line(raw))
            if reply.status_code == 200:
                out.write(data)
                record.completed_count += 1
                record.input_tokens += reply.input_tokens
                record.output_tokens += reply.output_tokens
            else:
                err.write(data)
                record.failed_count += 1
            record.processed += 1
            record.input_offset = offset
            if record.processed >= target or time.monotonic() - saved >= SAVE_SECONDS:
                saved = time.monotonic()
                attempts.flush()
                _save_progress(record, out, err, save)
            if record.processed >= target:
                return


def _save_progress(
    record: BatchRecord, out: IO[bytes], err: IO[bytes], save: Callable[[BatchRecord], None]
) -> None:
    """Save the counts with the result files' sizes: a restart cuts the files back to them."""
    out.flush()
    err.flush()
    record.output_bytes = out.tell()
    record.error_bytes = err.tell()
    save(record)


class _Answerer:
    """The result line of the batch's next request, and the reply it holds."""

    def __init__(self, record: BatchRecord, attempts: AttemptLedger) -> None:
        assert record.in_progress is not None
        self._record = record
        self._start = record.in_progress
        self._rate = record.knobs.requests_per_second
        self._failures = RequestFailures(record.knobs, record.id, attempts)
        self._known = re.compile(record.knobs.known_models)

    def __call__(self, request: dict[str, Any]) -> tuple[bytes, Reply]:
        record = self._record
        custom_id = request["custom_id"]
        answered = int(self._start + (record.processed + 1) / self._rate)
        seed = line_seed(record.id, custom_id)
        failure = self._failures.failure(custom_id) if self._failures else None
        if failure is not None and failure.body is not None:
            assert isinstance(failure.status, int)
            reply = Reply(failure.status, failure.body)
        else:
            reply = respond(record.endpoint, request["body"], Context(seed, answered, self._known))
        data = answer_line(seed, custom_id, reply.status_code, reply.body)
        if failure is not None and failure.body is None:
            assert isinstance(failure.status, str)
            data = self._failures.corrupt(data, failure.status)
        return data, reply
