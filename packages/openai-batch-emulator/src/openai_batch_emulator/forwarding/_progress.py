"""The result files of a forwarded batch: the one record of which requests have their answer.

Answers arrive in any order, so a forwarded batch cannot keep "the first N lines are answered" as the
scheduled batches do. Its output and error files themselves say which `custom_id`s are answered; a
restarted server reads them back (`scan`) and sends only the others. Each answer is appended with one
write, so a stop leaves at most a partial last line, which `scan` cuts off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..batches.jsonl import ERRORS, OUTPUT, iter_lines, parse_line


@dataclass
class Progress:
    """What the result files of a forwarded batch hold so far."""

    completed: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    output_bytes: int = 0
    error_bytes: int = 0
    answered: set[str] = field(default_factory=set)

    def add(self, custom_id: str, line_bytes: int, ok: bool, tokens: tuple[int, int]) -> None:
        self.answered.add(custom_id)
        if ok:
            self.completed += 1
            self.output_bytes += line_bytes
            self.input_tokens += tokens[0]
            self.output_tokens += tokens[1]
        else:
            self.failed += 1
            self.error_bytes += line_bytes


def usage_tokens(body: Any) -> tuple[int, int]:
    """(input, output) tokens an answer reports, whichever endpoint's names its `usage` uses."""
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return 0, 0

    def number(*names: str) -> int:
        for name in names:
            value = usage.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return 0

    return number("input_tokens", "prompt_tokens"), number("output_tokens", "completion_tokens")


def scan(work: Path) -> Progress:
    """Read back the answers written so far (streaming), after cutting off a partial last line."""
    progress = Progress()
    for name in (OUTPUT, ERRORS):
        path = work / name
        if not path.exists():
            continue
        _cut_partial_line(path)
        for _, raw in iter_lines(path):
            line = parse_line(raw)
            ok = name == OUTPUT
            body = (line.get("response") or {}).get("body") if ok else None
            progress.add(line["custom_id"], len(raw), ok, usage_tokens(body))
    return progress


def _cut_partial_line(path: Path) -> None:
    with path.open("r+b") as handle:
        size = handle.seek(0, 2)
        end = size
        while end > 0:
            start = max(0, end - 65536)
            handle.seek(start)
            block = handle.read(end - start)
            newline = block.rfind(b"\n")
            if newline >= 0:
                end = start + newline + 1
                break
            end = start
        if end != size:
            handle.truncate(end)
