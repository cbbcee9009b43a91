"""Reading JSONL fast, with the standard library's verdict: the one decoding layer every reader of lines uses.

msgspec decodes several times faster than ``json.loads``, but it refuses what the standard library
accepts (``NaN``), and a typed decoder skips the fields it does not build without checking their
UTF-8. A reader declares the fields it needs as a ``msgspec.Struct`` and reads lines through a
`FieldDecoder`: when it gives nothing, the line goes to `decode_json` (or ``json.loads`` for its
message), so every line gets the standard library's verdict.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from typing import Any, Generic, TypeVar

import msgspec

# JSONL files are read line by line through a buffer this big: few system calls, little memory
# (a larger one reads no faster, and its memory stays with the process after the file is closed).
READ_BUFFER = 1 << 16

Fields = TypeVar("Fields", bound=msgspec.Struct)

_ANY = msgspec.json.Decoder()


class FieldDecoder(Generic[Fields]):
    """Builds only the fields of one ``msgspec.Struct`` from a line; skips (never builds) the rest."""

    def __init__(self, fields: type[Fields]) -> None:
        self._decoder = msgspec.json.Decoder(fields)

    def decode(self, raw: bytes) -> Fields | None:
        """The line's fields; None when only the standard library reads it exactly.

        That is a shape the typed decoder refuses (not an object, a field of another type than
        declared), JSON only the standard library accepts, no JSON at all, or bytes that are not UTF-8
        in a skipped field.
        """
        try:
            fields = self._decoder.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return None
        return fields if is_utf8(raw) else None


def decode_json(raw: bytes) -> Any:
    """One JSON value, as ``json.loads`` reads it: what msgspec refuses goes to ``json.loads``, so every
    line gets the standard library's verdict, and its ``ValueError``."""
    try:
        return _ANY.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return json.loads(raw)


def is_utf8(raw: bytes) -> bool:
    """Whether the whole line is UTF-8 (what a typed decode leaves unchecked in the fields it skips)."""
    if raw.isascii():
        return True
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_lines(path: str) -> Iterator[bytes]:
    """The lines of a JSONL file that are not blank, streamed."""
    with open(path, "rb", buffering=READ_BUFFER) as stream:
        for raw in stream:
            if not raw.isspace():
                yield raw


def read_blocks(
    path: str, size: int = 1 << 17, start: int = 0, end: int | None = None
) -> Generator[bytes, None, None]:
    """The file from byte ``start`` to ``end`` (None: its end) in blocks of whole lines of about
    ``size`` bytes (a longer line is one block), streamed; the last block may lack its newline.
    Small blocks: what is decoded of one stays in the caches. A block's unfinished last line is read
    again with the next block rather than carried over: a block is one copy of the file's bytes."""
    parts: list[bytes] = []
    left = None if end is None else end - start
    with open(path, "rb", buffering=0) as stream:
        stream.seek(start)
        while left is None or left > 0:
            chunk = stream.read(size if left is None else min(size, left))
            if not chunk:
                break
            cut = chunk.rfind(b"\n") + 1
            if not cut:  # inside a line longer than a block: read on
                parts.append(chunk)
            elif cut < len(chunk):
                stream.seek(cut - len(chunk), 1)
                chunk = chunk[:cut]
            if left is not None:
                left -= len(chunk)
            if cut:
                yield b"".join((*parts, chunk)) if parts else chunk
                parts = []
    if parts:
        yield b"".join(parts)


def count_lines(path: str) -> int:
    """Lines of a file, read in blocks."""
    with open(path, "rb") as stream:
        return sum(block.count(b"\n") for block in iter(lambda: stream.read(1 << 20), b""))
