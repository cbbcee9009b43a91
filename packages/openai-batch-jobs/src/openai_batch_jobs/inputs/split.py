"""Splits a request file of any size into batch-sized parts, in the same streaming pass that validates it.

The Batch API takes at most 50,000 requests, 200 MiB and (for embeddings) 50,000 inputs per batch. A
job bigger than that runs as several batches: this module decides where each part ends (always at a
line boundary) while `RequestChecker` checks every line, so the file is read once and nothing is
uploaded unless the whole input is valid. Only the parts' byte ranges are kept, not their lines, so
memory stays flat whatever the size; the parts are copied out one at a time when they are uploaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from openai_batch_jobs.errors import InvalidRequestFile
from openai_batch_jobs.inputs.estimate import TokenTotals
from openai_batch_jobs.inputs.limits import OPENAI_LIMITS, PartLimits
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


def plan_parts(path: str, limits: PartLimits = OPENAI_LIMITS, endpoint: str | None = None) -> SplitPlan:
    """Validate the file and cut it into parts, in one pass; raise InvalidRequestFile for any problem.

    A part ends before the line that would take it past any of ``limits``; a single line that alone
    passes the byte or embedding-input limit cannot go in any part, and is an error naming it.
    """
    size = os.path.getsize(path)
    if size == 0:
        raise InvalidRequestFile(path, ["the file is empty: a batch needs at least one request"])
    checker = RequestChecker(path, endpoint)
    parts: list[Part] = []
    start = offset = 0
    first_line = 1
    requests = inputs = 0
    tokens = TokenTotals()
    with open(path, "rb", buffering=READ_BUFFER) as stream:
        for lineno, raw in enumerate(stream, 1):
            before = checker.requests
            line_inputs = checker.check(lineno, raw)
            counted = checker.requests - before  # 0 for a blank line, which is a problem anyway
            if len(raw) > limits.bytes:
                checker.problems.add(
                    f"line {lineno}: the line alone is {len(raw):,} bytes, more than a batch's input file may "
                    f"hold ({limits.bytes:,} bytes)"
                )
            elif line_inputs > limits.embedding_inputs:
                checker.problems.add(
                    f"line {lineno}: the request alone has {line_inputs:,} embedding inputs, more than a batch "
                    f"may hold ({limits.embedding_inputs:,})"
                )
            elif requests and (
                requests + counted > limits.requests
                or offset + len(raw) - start > limits.bytes
                or inputs + line_inputs > limits.embedding_inputs
            ):
                parts.append(Part(len(parts), start, offset, first_line, requests, tokens))
                start, first_line, requests, inputs, tokens = offset, lineno, 0, 0, TokenTotals()
            requests += counted
            inputs += line_inputs
            if counted:
                tokens.add(checker.line_tokens)
            offset += len(raw)
    summary = checker.finish(size)
    parts.append(Part(len(parts), start, offset, first_line, requests, tokens))
    return SplitPlan(path=path, summary=summary, parts=parts)


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
