"""Sending requests again: sort a round's results into kept answers, final errors and requests to send again.

A job runs in rounds (at most ``max_request_attempts``): round 1 sends every request, each later round
sends again the requests that failed transiently in the round before (`result_lines.TRANSIENT_STATUSES`,
``batch_expired`` lines, and the unanswered requests of an expired or cancelled batch). `collect_round`
reads one round's files and writes:

- the output file: the previous rounds' answers, then this round's, each line with ``"attempts": N``
  added (the round that answered it);
- the error file: the previous rounds' final errors, then this round's failures that will not be sent
  again (permanent ones, and transient ones whose attempts are spent), each with ``"attempts": N``;
  requests no result file answers get an error line of their own (code ``missing_result``) and
  unreadable result lines one with code ``unreadable_result``, both saying why;
- the resend file: the original request lines (from the parts' input files) of the requests to send
  again, in input order.

So after the last round every custom_id is in exactly one of the two files, with its last answer or
its last error. A request in round N's input has been tried N times: only failed requests go on.
Memory stays flat: every file is streamed. A part whose output file answers every request, one line
each in the requests' order, with nothing in its error file (what the Batch API writes when all went
well) is sorted in blocks of lines decoded in one call each (`_sort_answered`); any other part, or
one that turns out otherwise half-way, is sorted from its start through an index of its results by
custom_id (`ResultIndex`: an id and an offset per line, the lines stay in their files).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO

from openai_batch_jobs.inputs.request_keys import KeyRuns, key_lines, read_requests
from openai_batch_jobs.json_lines import READ_BUFFER, read_blocks
from openai_batch_jobs.results.counts import RequestCounts
from openai_batch_jobs.results.part_files import RoundPart
from openai_batch_jobs.results.result_index import FileScan, IndexedLine, ResultIndex, Unanswered
from openai_batch_jobs.results.result_lines import (
    UNREADABLE_RESULT,
    LineKind,
    answers_of,
    error_line,
    lines_with_attempts,
    with_attempts,
)

# How often a request is sent before its failure is final, unless told; 1 sends each request once.
DEFAULT_MAX_REQUEST_ATTEMPTS = 3
# The sorted files are written through a buffer this big: lines of about a kilobyte each, written
# one at a time when a part is sorted through its index, make few system calls.
WRITE_BUFFER = 1 << 16
# A part sorted through its index writes its requests' keys this many at a time (`key_lines`).
KEYS_RUN = 4096


class _NeedsInput(Exception):
    """A part sorted from its keys has a request to send again: its input file holds the line."""


@dataclass
class PartCounts(RequestCounts):
    """What became of one part's requests in one round."""

    part: int
    batch_id: str
    status: str

    def text(self, *, resends: bool = True) -> str:
        return f"part {self.part} (batch {self.batch_id}, {self.status}): {super().text(resends=resends)}"


@dataclass(frozen=True)
class RoundReport:
    """The counts of one round, per part and in all; ``resent`` requests are in the resend file.

    ``output_start`` and ``error_start`` are where this round's lines begin in the output and error
    files (after the rounds before): the results table reads each round's lines as one run.
    """

    attempt: int
    parts: list[PartCounts]
    output_start: int = 0
    error_start: int = 0

    @property
    def requests(self) -> int:
        return sum(p.requests for p in self.parts)

    @property
    def succeeded(self) -> int:
        return sum(p.succeeded for p in self.parts)

    @property
    def failed(self) -> int:
        return sum(p.failed for p in self.parts)

    @property
    def missing(self) -> int:
        return sum(p.missing for p in self.parts)

    @property
    def resent(self) -> int:
        return sum(p.resent for p in self.parts)

    @property
    def totals(self) -> RequestCounts:
        """The round's counts over all its parts (the missing requests named are the first ones)."""
        return RequestCounts.total(self.parts)

    def lines(self) -> list[str]:
        """Human-readable lines for the task's log: one per part, then the totals."""
        total = f"Round {self.attempt}: {self.totals.text(resends=True)}"
        return [f"Round {self.attempt}, {p.text()}" for p in self.parts] + [total]


def collect_round(
    parts: Sequence[RoundPart],
    *,
    attempt: int,
    max_request_attempts: int = DEFAULT_MAX_REQUEST_ATTEMPTS,
    output_path: str,
    error_path: str,
    resend_path: str,
    previous_output: str | None = None,
    previous_errors: str | None = None,
    keys_path: str | None = None,
) -> RoundReport:
    """Sort round ``attempt``'s results (see the module's docstring) into the three files named.

    ``previous_output`` / ``previous_errors`` are the files the round before wrote (None in round 1);
    they are copied first, so each round's files hold everything decided so far. The resend file is
    written (maybe empty) in every round; it is empty when ``attempt`` is ``max_request_attempts``.
    With ``keys_path``, every request's custom_id and model are written there too, in order
    (`request_keys.key_line`): what the results table needs of the requests.
    """
    check_attempts(attempt, max_request_attempts)
    rounds_left = attempt < max_request_attempts
    counts: list[PartCounts] = []
    with ExitStack() as files:
        output, errors, resend = (
            files.enter_context(open(path, "wb", buffering=WRITE_BUFFER))
            for path in (output_path, error_path, resend_path)
        )
        keys = files.enter_context(open(keys_path, "wb")) if keys_path else None
        _copy(previous_output, output)
        _copy(previous_errors, errors)
        starts = (output.tell(), errors.tell())
        for number, part in enumerate(parts, start=1):
            counts.append(_sort(number, part, attempt, rounds_left, (output, errors, resend, keys)))
    return RoundReport(attempt, counts, *starts)


def _sort(
    number: int,
    part: RoundPart,
    attempt: int,
    rounds_left: bool,
    sinks: tuple[IO[bytes], IO[bytes], IO[bytes], IO[bytes] | None],
) -> PartCounts:
    """One part sorted: in blocks when its results allow (`_sort_answered`), else through an index
    of them; a part sorted from its keys that has a request to send again is taken back and sorted
    again from its input file, through the same index."""
    answered = _sort_answered(number, part, attempt, sinks[0], sinks[3])
    if answered is not None:
        return answered
    marks = _marks(*sinks)
    batch_id = _tally(number, part).batch_id
    with ResultIndex() as index:
        scans = [
            index.add_file(path, f"the {kind} file of batch {batch_id}")
            for kind, path in (("output", part.output_path), ("error", part.error_path))
            if path
        ]
        try:
            return _sort_part(number, part, index, scans, attempt, rounds_left, *sinks)
        except _NeedsInput:
            _take_back(marks)
        return _sort_part(number, part.with_input(), index, scans, attempt, rounds_left, *sinks)


def _marks(*sinks: IO[bytes] | None) -> list[tuple[IO[bytes], int]]:
    """Where each file is now, to take back what is written after (`_take_back`)."""
    return [(sink, sink.tell()) for sink in sinks if sink is not None]


def _take_back(marks: list[tuple[IO[bytes], int]]) -> None:
    for sink, mark in marks:
        sink.seek(mark)
        sink.truncate()


def check_attempts(attempt: int, max_request_attempts: int) -> None:
    """Refuse a round outside 1..``max_request_attempts`` (ValueError naming the argument)."""
    if max_request_attempts < 1:
        raise ValueError(f"max_request_attempts must be at least 1, got {max_request_attempts}")
    if not 1 <= attempt <= max_request_attempts:
        raise ValueError(
            f"attempt must be between 1 and max_request_attempts ({max_request_attempts}), got {attempt}"
        )


def _tally(number: int, part: RoundPart) -> PartCounts:
    batch_id = str(part.batch.get("id") or f"of part {number}")
    return PartCounts(number, batch_id, str(part.batch.get("status") or "unknown"))


def _sort_answered(
    number: int, part: RoundPart, attempt: int, output: IO[bytes], keys: IO[bytes] | None
) -> PartCounts | None:
    """`_sort_part` for a part whose output file answers each of its requests in order and whose
    error file is empty: a block of output lines is decoded in one call (`answers_of`), compared with
    the requests' ids as a list, and written with ``"attempts"`` added in one join
    (`lines_with_attempts`). Anything else takes back what it wrote and gives None."""
    if part.output_path is None or (part.error_path is not None and os.path.getsize(part.error_path)):
        return None
    marks = _marks(output, keys)
    tally = _tally(number, part)
    requests = KeyRuns(part.requests_path)
    try:
        for block in read_blocks(part.output_path):
            ids = answers_of(block)
            lines = None if ids is None else lines_with_attempts(block, attempt)
            if ids is None or lines is None or lines[1] != len(ids):
                break
            taken, models = requests.take(len(ids))
            if taken != ids:
                break
            if keys is not None:
                keys.write(key_lines(taken, models))
            output.write(lines[0])
            tally.requests += len(ids)
        else:
            if not requests.take(1)[0] and not requests.failed:
                tally.succeeded = tally.requests
                return tally
    finally:
        requests.close()
    _take_back(marks)
    return None


def _sort_part(
    number: int,
    part: RoundPart,
    index: ResultIndex,
    scans: list[FileScan],
    attempt: int,
    rounds_left: bool,
    output: IO[bytes],
    errors: IO[bytes],
    resend: IO[bytes],
    keys: IO[bytes] | None,
) -> PartCounts:
    """The part's requests sorted through ``index`` of its result files (``scans``)."""
    tally = _tally(number, part)
    unanswered = Unanswered(part.batch, tally.batch_id, tally.status, scans)
    end = b',"attempts":%d}\n' % attempt
    ids: list[str] = []
    models: list[str | None] = []
    # A keys file's lines are no requests to send again (`_settle_failure`).
    raws = part.keys_path is None
    for raw, custom_id, model in read_requests(part.requests_path):
        ids.append(custom_id)
        models.append(model)
        answer = index.answer(custom_id)
        if answer is None:
            _settle_failure(
                raw if raws else None,
                custom_id,
                index,
                unanswered,
                scans,
                tally,
                attempt,
                rounds_left,
                errors,
                resend,
            )
        elif answer.endswith(b"}\n"):
            output.write(answer[:-2] + end)
        else:
            output.write(with_attempts(answer, attempt))
        if len(ids) == KEYS_RUN:
            _write_keys(keys, ids, models, tally)
    _write_keys(keys, ids, models, tally)
    tally.succeeded = tally.requests - tally.failed - tally.resent
    return tally


def _write_keys(keys: IO[bytes] | None, ids: list[str], models: list[str | None], tally: PartCounts) -> None:
    """The keys of a run of requests written (`key_lines`) and counted; the lists emptied for the next run."""
    if keys is not None:
        keys.write(key_lines(ids, models))
    tally.requests += len(ids)
    ids.clear()
    models.clear()


def _settle_failure(
    raw: bytes | None,
    custom_id: str,
    index: ResultIndex,
    unanswered: Unanswered,
    scans: list[FileScan],
    tally: PartCounts,
    attempt: int,
    rounds_left: bool,
    errors: IO[bytes],
    resend: IO[bytes],
) -> None:
    """A request no line answers: sent again (its line ``raw``: `_NeedsInput` without it), or a final
    error line (its own, or one saying why)."""
    found = index.find(custom_id)
    transient = unanswered.transient if found is None else found.kind is LineKind.TRANSIENT
    if transient and rounds_left:
        if raw is None:
            raise _NeedsInput
        resend.write(raw + b"\n")
        tally.resent += 1
        return
    if found is None:
        if unanswered.missing:
            tally.add_missing(custom_id)
        else:
            tally.failed += 1
        errors.write(error_line(custom_id, unanswered.code, unanswered.reason, attempt))
        return
    tally.failed += 1
    if found.kind is LineKind.UNREADABLE:
        errors.write(error_line(custom_id, UNREADABLE_RESULT, _unreadable_reason(found, scans), attempt))
    else:
        errors.write(with_attempts(index.read_line(found), attempt))


def _unreadable_reason(found: IndexedLine, scans: list[FileScan]) -> str:
    label = scans[found.file].label if found.file < len(scans) else "a result file"
    return f"the result line of this request (line {found.line} of {label}) {found.problem}"


def _copy(source: str | None, sink: IO[bytes]) -> None:
    if source:
        with open(source, "rb") as stream:
            shutil.copyfileobj(stream, sink, READ_BUFFER)
