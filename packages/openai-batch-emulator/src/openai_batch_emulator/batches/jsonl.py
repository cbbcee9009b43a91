"""A batch's JSONL files: its input read line by line, its result lines written in OpenAI's shape.

Scheduled and forwarded batches share these, so a result line reads the same whoever answered it: its
`id` and fallback `request_id` come from a hash of the batch and the `custom_id` (`line_seed`), stable
across restarts, so a line computed again after a crash is the same line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Container, Iterator
from pathlib import Path
from typing import Any

import orjson

INPUT = "input.jsonl"
OUTPUT = "output.jsonl"
ERRORS = "errors.jsonl"
# Lines are short next to this, so each read brings many of them (the default 8 KiB means a system
# call every line or two on a 200 MB file of 4 KB requests).
READ_BUFFER = 1024 * 1024
# OpenAI's documented error-file entry of a request an expired batch never ran.
EXPIRED_ERROR = {
    "code": "batch_expired",
    "message": "This request could not be executed before the completion window expired.",
}


def iter_lines(path: Path, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """(offset after the line, raw line) for each line from byte `start`; one line in memory at a time."""
    with path.open("rb", buffering=READ_BUFFER) as handle:
        handle.seek(start)
        offset = start
        for raw in handle:
            offset += len(raw)
            yield offset, raw


def parse_line(raw: bytes) -> Any:
    """The JSON value of one input line; raise UnicodeDecodeError if it is not UTF-8, else ValueError
    if it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raw.decode("utf-8")  # raises if that was the problem
        raise


def line_seed(batch_id: str, custom_id: str) -> str:
    """Stable per request: the same line id (and made-up answer) every time the request is answered."""
    return hashlib.sha256(f"{batch_id}\x00{custom_id}".encode()).hexdigest()


def answer_line(seed: str, custom_id: str, status: int, body: Any, request_id: str | None = None) -> bytes:
    """The result line of an answered request (compact, UTF-8, ending in a newline)."""
    response = {"status_code": status, "request_id": request_id or "req_" + seed[32:64], "body": body}
    line = {"id": "batch_req_" + seed[:32], "custom_id": custom_id, "response": response, "error": None}
    return orjson.dumps(line) + b"\n"


def error_line(seed: str, custom_id: str, error: dict[str, Any]) -> bytes:
    """The result line of a request that got no answer at all."""
    line = {"id": "batch_req_" + seed[:32], "custom_id": custom_id, "response": None, "error": error}
    return orjson.dumps(line) + b"\n"


def write_expired(batch_id: str, work: Path, start: int = 0, answered: Container[str] = ()) -> int:
    """Append a `batch_expired` line for every request from input byte `start` without an answer in
    `answered`; how many were written."""
    written = 0
    with (work / ERRORS).open("ab") as err:
        for _, raw in iter_lines(work / INPUT, start):
            custom_id = parse_line(raw)["custom_id"]
            if custom_id in answered:
                continue
            err.write(error_line(line_seed(batch_id, custom_id), custom_id, EXPIRED_ERROR))
            written += 1
    return written
