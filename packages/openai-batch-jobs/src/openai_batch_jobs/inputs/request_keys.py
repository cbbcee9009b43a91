"""What a job's later steps need of its requests: each one's custom_id and model, in input order.

`read_requests` reads them from request files (msgspec builds only those two fields and skips the
rest). A keys file holds one `key_line` per request, shaped like a request (``{"custom_id": ...,
"body": {"model": ...}}``) so `read_requests` reads it too: a few MB where the requests are up to
200 MB a part. The upload step writes one per part as it cuts the input (`PartKeys`), so that round 1's
collect step reads those instead of downloading the parts again; round 1 writes the job's as it sorts
the results, and the later rounds carry it to the results table.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import IO, Any

import msgspec

from openai_batch_jobs.errors import BatchResultError
from openai_batch_jobs.json_lines import READ_BUFFER, FieldDecoder, decode_json, is_utf8, read_blocks


# Untracked by the garbage collector (never in a cycle): a block of keys decoded at once (`keys_of`)
# sets off no collection of the process's whole heap.
class _Body(msgspec.Struct, gc=False):
    model: Any = None


class _Request(msgspec.Struct, gc=False):
    custom_id: Any = None
    body: _Body | None = None


_REQUEST = FieldDecoder(_Request)


# A request as `read_requests` reads it without a second look, in types (`keys_of`): a custom_id that
# is a string, a body that is absent, null or an object whose model is a string or null.
class _KeyBody(msgspec.Struct, gc=False):
    model: str | None = None


class _Key(msgspec.Struct, gc=False):
    custom_id: str
    body: _KeyBody | None = None


_KEYS = msgspec.json.Decoder(_Key)
_ENCODER = msgspec.json.Encoder()


def read_requests(path: str) -> Iterator[tuple[bytes, str, str | None]]:
    """(raw line without its newline, custom_id, model) of each request of a request file (or a file
    of `key_line` s), in order: a block of lines at a time (`keys_of`), a line at a time where a
    block holds a line only `request_key` reads.

    A line without a readable custom_id is an error: the file was validated before it was uploaded.
    """
    line_number = 0
    for block in read_blocks(path):
        lines = block.split(b"\n")
        if not lines[-1]:
            lines.pop()
        raws = [raw for raw in lines if raw and not raw.isspace()]
        keys = keys_of(block)
        if keys is not None and len(keys[0]) == len(raws):
            yield from zip(raws, *keys, strict=True)
        else:
            yield from _read_lines(path, lines, line_number)
        line_number += len(lines)


def _read_lines(path: str, lines: list[bytes], before: int) -> Iterator[tuple[bytes, str, str | None]]:
    for line_number, raw in enumerate(lines, start=before + 1):
        if not raw or raw.isspace():
            continue
        custom_id, model = request_key(raw)
        if not isinstance(custom_id, str):
            raise BatchResultError(
                f"Line {line_number} of the request file {path} has no readable custom_id; the file "
                "changed since it was validated and uploaded"
            )
        yield raw, custom_id, model if isinstance(model, str) else None


def keys_of(block: bytes) -> tuple[list[str], list[str | None]] | None:
    """The custom_ids and models of a block of whole request lines (blank ones skipped), decoded in
    one call, as `read_requests` reads them; None when a line is one only `read_requests` reads (or
    refuses)."""
    try:
        requests = _KEYS.decode_lines(block)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    if not is_utf8(block):
        return None
    return [r.custom_id for r in requests], [r.body.model if r.body is not None else None for r in requests]


class KeyRuns:
    """The request keys of a request file (or keys file), decoded a block of lines at a time
    (`keys_of`) and taken in runs of any length; ``failed`` once a block holds a line only
    `read_requests` reads."""

    def __init__(self, path: str) -> None:
        self._blocks = read_blocks(path)
        self._ids: list[str] = []
        self._models: list[str | None] = []
        self.failed = False

    def take(self, count: int) -> tuple[list[str], list[str | None]]:
        """The next ``count`` requests' custom_ids and models (fewer at the end)."""
        while len(self._ids) < count and not self.failed:
            block = next(self._blocks, None)
            if block is None:
                break
            keys = keys_of(block)
            if keys is None:
                self.failed = True
                break
            self._ids += keys[0]
            self._models += keys[1]
        taken = self._ids[:count], self._models[:count]
        del self._ids[:count], self._models[:count]
        return taken

    def close(self) -> None:
        self._blocks.close()


class PartKeys:
    """The keys files of an input's parts, written as the input is cut: part N's keys go to
    ``<directory>/<stem>-part<N>-keys.jsonl`` (`paths`, in part order), streamed; the directory is
    made if missing."""

    def __init__(self, directory: str, stem: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self._directory, self._stem = directory, stem
        self.paths: list[str] = []
        self._sink: IO[bytes] | None = None
        self.next_part()

    def next_part(self) -> None:
        """Close the part's file and start the next part's."""
        if self._sink is not None:
            self._sink.close()
        self.paths.append(os.path.join(self._directory, f"{self._stem}-part{len(self.paths) + 1}-keys.jsonl"))
        self._sink = open(self.paths[-1], "wb", buffering=READ_BUFFER)  # noqa: SIM115  (closed by next_part/close)

    def write(self, ids: list[str], models: list[str | None]) -> None:
        assert self._sink is not None
        self._sink.write(key_lines(ids, models))

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def discard(self) -> None:
        """Close and delete every file written (the input was refused)."""
        self.close()
        for path in self.paths:
            if os.path.exists(path):
                os.unlink(path)


def key_line(custom_id: str, model: str | None) -> bytes:
    """A request's key as a line `read_requests` reads back."""
    key: dict[str, Any] = {"custom_id": custom_id}
    if model is not None:
        key["body"] = {"model": model}
    return _ENCODER.encode(key) + b"\n"


def key_lines(ids: list[str], models: list[str | None]) -> bytes:
    """`key_line` of each request, joined. When every request names one model and no custom_id needs
    escaping in JSON (printable ASCII without quotes or backslashes), the lines are one join."""
    model = models[0] if models else None
    text = "".join(ids)
    plain = text.isascii() and text.isprintable() and '"' not in text and "\\" not in text
    if not plain or models.count(model) != len(models):
        return b"".join(map(key_line, ids, models))
    if not ids:
        return b""
    # '{"custom_id":' and ',"body":{"model":...}}\n' (or '}\n'), around each id in quotes.
    head, tail = key_line("", model).decode().split('""', 1)
    return (head + '"' + ('"' + tail + head + '"').join(ids) + '"' + tail).encode()


def request_key(raw: bytes) -> tuple[Any, Any]:
    """(custom_id, body's model) of a request line as JSON reads them; (None, None) for a line that
    is no JSON object. Only those are built (msgspec skips the rest)."""
    request = _REQUEST.decode(raw)
    if request is not None:
        return request.custom_id, request.body.model if request.body else None
    try:
        record = decode_json(raw)
    except ValueError:
        return None, None
    if not isinstance(record, dict):
        return None, None
    body = record.get("body")
    return record.get("custom_id"), body.get("model") if isinstance(body, dict) else None
