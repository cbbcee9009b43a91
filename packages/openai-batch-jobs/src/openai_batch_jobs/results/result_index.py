"""Where each request's result line is: an index from custom_id to file and byte offset, for one part.

Results come back in any order and a request is looked up by its custom_id while its input is read in
order. The index holds one part's results (a batch answers at most 50,000 requests, the Batch API's
limit), so it lives in a dict: a few MB whatever the size of the job, since parts are sorted one at a
time. The lines themselves stay in their files; only an id, an offset and a kind are kept per line.
`Unanswered` says what a request no line answers counts as: the round and the single batch's download
both settle it there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from openai_batch_jobs.api.batch_api import PARTIAL_STATUSES, batch_error_text
from openai_batch_jobs.json_lines import read_blocks
from openai_batch_jobs.results.result_lines import (
    MISSING_RESULT,
    UNREADABLE_RESULT,
    LineKind,
    answers_of,
    judge_result_line,
)

# How many unreadable lines without a custom_id a scan keeps to quote; the rest are only counted.
KEPT_PROBLEMS = 5
# How much of a result file is read at once when its lines are looked up in the file's own order.
READ_AHEAD = 1 << 16
_KINDS = tuple(LineKind)
_SUCCEEDED = _KINDS.index(LineKind.SUCCEEDED)


@dataclass(frozen=True)
class IndexedLine:
    file: int
    offset: int
    kind: LineKind
    line: int
    problem: str | None
    length: int


@dataclass
class FileScan:
    """What indexing one result file found: its lines, and the unreadable ones that name no request."""

    label: str
    lines: int = 0
    orphans: int = 0  # unreadable lines whose custom_id could not be recovered
    orphan_problems: list[str] = field(default_factory=list)

    def orphan_text(self) -> str:
        """The orphaned lines as a sentence, e.g. "2 line(s) of the output file of batch b (line 3 is not JSON ...)"."""
        more = (
            f"; and {self.orphans - len(self.orphan_problems)} more" if self.orphans > KEPT_PROBLEMS else ""
        )
        return f"{self.orphans} line(s) of {self.label} could not be read ({'; '.join(self.orphan_problems)}{more})"


class ResultIndex:
    """custom_id -> the result line that answers it, over one part's output and error files.

    When two lines answer one custom_id, an answer beats a failure and a later failure beats an earlier one.
    """

    def __init__(self) -> None:
        # custom_id -> (offset << 32 | length) << 8 | file << 2 | kind: one int per line.
        self._where: dict[str, int] = {}
        # custom_id -> (line number, problem) of the unreadable lines that name their request.
        self._unreadable: dict[str, tuple[int, str | None]] = {}
        self._paths: list[str] = []
        self._handles: dict[int, IO[bytes]] = {}
        self._ahead: tuple[int, int, bytes] = (-1, 0, b"")

    def add_file(self, path: str, label: str) -> FileScan:
        """Index every line of the result file ``path``; ``label`` names it in messages.

        A block of lines that are all answers, each naming a request not indexed yet, is indexed in
        one go (`_add_answers`); the lines of any other block one at a time (`_add_lines`)."""
        number = len(self._paths)
        if number >= 1 << 6:
            raise ValueError("a result index holds at most 64 files")
        self._paths.append(path)
        scan = FileScan(label)
        offset = lines = 0
        for block in read_blocks(path):
            answers = self._add_answers(block, offset, number)
            if answers is None:
                lines += self._add_lines(block, offset, number, scan, lines)
            else:
                scan.lines += answers
                lines += answers
            offset += len(block)
        return scan

    def _add_answers(self, block: bytes, offset: int, number: int) -> int | None:
        """Index a block of answers (`answers_of`) whose lines each end with ``}`` and a newline (or
        the file's end) and name requests not indexed yet; how many, or None (nothing indexed)."""
        ids = answers_of(block)
        if ids is None:
            return None
        tag, find, start, places = number << 2 | _SUCCEEDED, block.find, 0, []
        while start < len(block):
            stop = find(b"\n", start) + 1 or len(block)
            end = stop - (block[stop - 1] == 0x0A)
            if end <= start or block[end - 1] != 0x7D:  # "}"
                return None
            places.append(((offset + start) << 32 | stop - start) << 8 | tag)
            start = stop
        if len(places) != len(ids):
            return None
        found = dict(zip(ids, places, strict=True))
        if len(found) != len(ids) or not self._where.keys().isdisjoint(found):
            return None
        self._where.update(found)
        return len(ids)

    def _add_lines(self, block: bytes, offset: int, number: int, scan: FileScan, before: int) -> int:
        """Index a block's lines one at a time (the file's lines before it: ``before``); how many."""
        where, unreadable = self._where, self._unreadable
        start = line_number = 0
        while start < len(block):
            stop = block.find(b"\n", start) + 1 or len(block)
            raw, place, start = block[start:stop], offset + start, stop
            line_number += 1
            if raw.isspace():
                continue
            scan.lines += 1
            result = judge_result_line(raw)
            custom_id = result.custom_id
            if custom_id is None:
                scan.orphans += 1
                if len(scan.orphan_problems) < KEPT_PROBLEMS:
                    scan.orphan_problems.append(f"line {before + line_number} {result.problem}")
                continue
            held = where.get(custom_id)
            if held is not None and held & 3 == _SUCCEEDED:
                continue
            kind = _KINDS.index(result.kind)
            where[custom_id] = (place << 32 | len(raw)) << 8 | number << 2 | kind
            if result.kind is LineKind.UNREADABLE:
                unreadable[custom_id] = (before + line_number, result.problem)
            else:
                unreadable.pop(custom_id, None)
        return line_number

    def find(self, custom_id: str) -> IndexedLine | None:
        packed = self._where.get(custom_id)
        if packed is None:
            return None
        kind = _KINDS[packed & 3]
        line, problem = (
            self._unreadable.get(custom_id, (0, None)) if kind is LineKind.UNREADABLE else (0, None)
        )
        return IndexedLine((packed >> 2) & 0x3F, packed >> 40, kind, line, problem, packed >> 8 & 0xFFFFFFFF)

    def answer(self, custom_id: str) -> bytes | None:
        """The raw line that answers ``custom_id`` when it is an answer (what most lookups find)."""
        packed = self._where.get(custom_id)
        if packed is None or packed & 3 != _SUCCEEDED:
            return None
        return self._read((packed >> 2) & 0x3F, packed >> 40, packed >> 8 & 0xFFFFFFFF)

    def read_line(self, entry: IndexedLine) -> bytes:
        """The raw result line an entry points at."""
        return self._read(entry.file, entry.offset, entry.length)

    def _read(self, file: int, offset: int, length: int) -> bytes:
        """The line at ``offset``: lines are looked up in the requests' order, not the file's, so a
        line is one read of exactly it, unless the line before was read (results in the requests'
        order): then the lines after it are read too (`READ_AHEAD`), and taken from there."""
        ahead_file, ahead_offset, ahead = self._ahead
        at = offset - ahead_offset
        sequential = ahead_file == file and 0 <= at <= len(ahead)
        if sequential and at + length <= len(ahead):
            return ahead[at : at + length]
        handle = self._handles.get(file)
        if handle is None:
            handle = self._handles[file] = open(self._paths[file], "rb")  # noqa: SIM115
        data = os.pread(handle.fileno(), max(length, READ_AHEAD) if sequential else length, offset)
        self._ahead = (file, offset, data)
        return data[:length] if sequential else data

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()
        self._ahead = (-1, 0, b"")
        self._where.clear()
        self._unreadable.clear()

    def __enter__(self) -> ResultIndex:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class Unanswered:
    """Why a batch's request is in neither result file, and whether sending it again may help.

    ``code`` is `MISSING_RESULT` (the request counts as missing) unless a result file of a batch that
    finished has unreadable lines that name no request: then a request without a line was most likely
    answered by one of them, and it counts as failed (`UNREADABLE_RESULT`), not missing.
    """

    def __init__(
        self, batch: Mapping[str, Any], batch_id: str, status: str, scans: Sequence[FileScan]
    ) -> None:
        # An expired or cancelled batch never sent its unanswered requests: another batch may answer them.
        self.transient = status in PARTIAL_STATUSES
        self.code = MISSING_RESULT
        orphans = [scan for scan in scans if scan.orphans]
        if self.transient:
            self.reason = f"batch {batch_id} was {status} before it answered this request"
        elif status == "failed":
            self.reason = (
                f"batch {batch_id} failed before it answered this request: {batch_error_text(batch)}"
            )
        elif orphans:
            unreadable = "; ".join(scan.orphan_text() for scan in orphans)
            self.code = UNREADABLE_RESULT
            self.reason = (
                f"batch {batch_id} ({status}) has no readable result line for this request, and {unreadable}"
            )
        else:
            self.reason = f"batch {batch_id} ({status}) returned no result line for this request"

    @property
    def missing(self) -> bool:
        return self.code == MISSING_RESULT
