"""Splits a request file of any size into batch-sized parts, in the same streaming pass that validates it.

The Batch API takes at most 50,000 requests, 200 MiB and (for embeddings) 50,000 inputs per batch. A
job bigger than that runs as several batches: this module decides where each part ends (always at a
line boundary) while `RequestChecker` checks every line, so the file is read once and nothing is
uploaded unless the whole input is valid. Only the parts' byte ranges are kept, not their lines, so
memory stays flat whatever the size; the parts are copied out one at a time when they are uploaded.
Asked for a directory, the same pass writes each part's keys file there (`request_keys.PartKeys`):
what the job's collect step needs of the requests, so it need not download the parts again.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from openai_batch_jobs.errors import InvalidRequestFile
from openai_batch_jobs.inputs._request_lines import ChatBlock, CheckedLine
from openai_batch_jobs.inputs.estimate import TokenTotals
from openai_batch_jobs.inputs.limits import OPENAI_LIMITS, PartLimits
from openai_batch_jobs.inputs.request_keys import PartKeys
from openai_batch_jobs.inputs.validation import RequestChecker, RequestFileSummary
from openai_batch_jobs.json_lines import READ_BUFFER

__all__ = ["Part", "PartLimits", "SplitPlan", "part_file", "plan_parts"]


@dataclass(frozen=True)
class Part:
    """One batch's share of the input: bytes ``start`` to ``end`` of the file, lines ``first_line`` on."""

    index: int
    start: int
    end: int
    first_line: int
    requests: int
    # Its requests' estimate (`estimate`): the enqueued-token bound, prompt and output tokens.
    tokens: TokenTotals = field(default_factory=TokenTotals)

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class SplitPlan:
    """A valid input and where its parts end; one part means the file is uploaded as it is."""

    path: str
    summary: RequestFileSummary
    parts: list[Part]
    # Each part's keys file, in part order (none unless asked for).
    keys: list[str] = field(default_factory=list)


def plan_parts(
    path: str,
    limits: PartLimits = OPENAI_LIMITS,
    endpoint: str | None = None,
    keys_directory: str | None = None,
) -> SplitPlan:
    """Validate the file and cut it into parts, in one pass; raise InvalidRequestFile for any problem.

    A part ends before the line that would take it past any of ``limits``; a single line that alone
    passes the byte or embedding-input limit cannot go in any part, and is an error naming it. With
    ``keys_directory``, each part's keys file is written there (deleted if the file is refused).
    """
    size = os.path.getsize(path)
    if size == 0:
        raise InvalidRequestFile(path, ["the file is empty: a batch needs at least one request"])
    checker = RequestChecker(path, endpoint)
    stem = os.path.splitext(os.path.basename(path))[0]
    keys = PartKeys(keys_directory, stem) if keys_directory is not None else None
    cutter = _Cutter(limits, checker, keys)
    try:
        for checked in checker.read_file(limits.bytes):
            if isinstance(checked, ChatBlock):
                cutter.block(checked)
            else:
                cutter.lines(checked)
        summary = checker.finish(size)
    except BaseException:
        if keys is not None:
            keys.discard()
        raise
    parts = cutter.finish()
    return SplitPlan(path=path, summary=summary, parts=parts, keys=keys.paths if keys is not None else [])


class _Cutter:
    """Where the parts end, fed the checked lines in order (whole blocks where none ends in them)."""

    def __init__(self, limits: PartLimits, checker: RequestChecker, keys: PartKeys | None) -> None:
        self.limits = limits
        self.checker = checker
        self.keys = keys
        self.parts: list[Part] = []
        self.start = self.offset = 0
        self.first_line = 1
        self.requests = self.inputs = 0
        self.tokens = TokenTotals()

    def block(self, chat: ChatBlock) -> None:
        """A block of chat requests (no embedding inputs, no line alone past the limits): taken whole
        when the part has room for all of it, else line by line."""
        if (
            self.requests + len(chat.ids) > self.limits.requests
            or self.offset + chat.size - self.start > self.limits.bytes
        ):
            self.lines(chat.lines())
            return
        self.requests += len(chat.ids)
        self.tokens.merge(chat.tokens)
        self.offset += chat.size
        if self.keys is not None:
            self.keys.write(chat.ids, [chat.model] * len(chat.ids))

    def lines(self, checked: Iterable[CheckedLine]) -> None:
        """Checked lines, in order: each ``counted`` requests (0 for a blank line, a problem anyway)."""
        limits, problems = self.limits, self.checker.problems
        requests, inputs, offset = self.requests, self.inputs, self.offset
        ids: list[str] = []
        models: list[str | None] = []
        for lineno, length, counted, line_inputs, tokens, key in checked:
            if length > limits.bytes:
                problems.add(
                    f"line {lineno}: the line alone is {length:,} bytes, more than a batch's input file may "
                    f"hold ({limits.bytes:,} bytes)"
                )
            elif line_inputs > limits.embedding_inputs:
                problems.add(
                    f"line {lineno}: the request alone has {line_inputs:,} embedding inputs, more than a "
                    f"batch may hold ({limits.embedding_inputs:,})"
                )
            elif requests and (
                requests + counted > limits.requests
                or offset + length - self.start > limits.bytes
                or inputs + line_inputs > limits.embedding_inputs
            ):
                self.parts.append(self._part(offset, requests))
                self.start, self.first_line, self.tokens = offset, lineno, TokenTotals()
                requests = inputs = 0
                self._keys(ids, models, next_part=True)
            requests += counted
            inputs += line_inputs
            if counted:
                self.tokens.add(tokens)
            if key is not None:
                ids.append(key[0])
                models.append(key[1])
            offset += length
        self.requests, self.inputs, self.offset = requests, inputs, offset
        self._keys(ids, models, next_part=False)

    def _keys(self, ids: list[str], models: list[str | None], *, next_part: bool) -> None:
        """The keys of the lines taken since the last call written to the part's keys file (emptied),
        which ends there with ``next_part``."""
        if self.keys is not None:
            self.keys.write(ids, models)
            if next_part:
                self.keys.next_part()
        ids.clear()
        models.clear()

    def finish(self) -> list[Part]:
        if self.keys is not None:
            self.keys.close()
        return [*self.parts, self._part(self.offset, self.requests)]

    def _part(self, end: int, requests: int) -> Part:
        return Part(len(self.parts), self.start, end, self.first_line, requests, self.tokens)


@contextmanager
def part_file(plan: SplitPlan, part: Part, directory: str) -> Iterator[str]:
    """The part as a file of its own (the input itself when it is the only part), deleted afterwards."""
    if len(plan.parts) == 1:
        yield plan.path
        return
    name = os.path.join(
        directory, f"{os.path.splitext(os.path.basename(plan.path))[0]}-part{part.index + 1}.jsonl"
    )
    try:
        with open(plan.path, "rb") as source, open(name, "wb") as sink:
            source.seek(part.start)
            left = part.size
            while left:
                chunk = source.read(min(READ_BUFFER, left))
                if not chunk:
                    raise OSError(f"{plan.path} changed while it was being split")
                sink.write(chunk)
                left -= len(chunk)
        yield name
    finally:
        if os.path.exists(name):
            os.unlink(name)
