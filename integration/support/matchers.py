"""The body matcher: ignores what is random by design and nothing else.

httpx draws a fresh multipart boundary for every upload, so two uploads of the same file never have
equal bodies byte for byte; and a workflow fed an iterator uploads a file that flytekit named with a
random hex name. The matcher replaces the boundary and such names with fixed tokens and then
compares exactly; JSON bodies are compared as data, so key order does not matter. (vcrpy scrubs the
live request with the cassette's ``before_record_request`` hook before matching, so both sides
arrive scrubbed.)
"""

from __future__ import annotations

import json
import re
from typing import Any

BOUNDARY_TOKEN = b"vcr-boundary"
RANDOM_NAME_TOKEN = b'filename="openai-batch-jobs-<random>'
# flytekit's random local paths are 32 hex digits (a uuid4's hex); the upload adds the plugin's prefix
# before them and its token tag after them, which are kept.
_RANDOM_FILENAME = re.compile(rb'filename="openai-batch-jobs-[0-9a-f]{32}')
# A multipart body opens with "--" and its boundary (RFC 2046: 1-70 characters, no spaces at the end).
_OPENING = re.compile(rb"\A--([0-9A-Za-z'()+_,\-./:=?]{1,70})\r\n")


def _as_bytes(body: Any) -> bytes:
    """vcrpy hands bodies over as bytes, text, a file-like object or an iterator of chunks."""
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        return bytes(body.read())
    if not isinstance(body, (bytes, bytearray)):
        return b"".join(body)
    return bytes(body)


def normalise_body(body: Any) -> Any:
    """The comparable form of a request body: multipart with a fixed boundary, JSON as data, else bytes."""
    data = _as_bytes(body)
    opening = _OPENING.match(data)
    if opening:
        return _RANDOM_FILENAME.sub(RANDOM_NAME_TOKEN, data.replace(opening.group(1), BOUNDARY_TOKEN))
    try:
        return json.loads(data)
    except ValueError:
        return data


def body(r1: Any, r2: Any) -> None:
    """vcrpy matcher: raise AssertionError (vcrpy's convention) showing where the bodies part."""
    left, right = normalise_body(r1.body), normalise_body(r2.body)
    if left != right:
        a, b = repr(left), repr(right)
        start = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        start = max(0, start - 40)
        raise AssertionError(
            f"request bodies differ: ...{a[start : start + 160]} != ...{b[start : start + 160]}"
        )
