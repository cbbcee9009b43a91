"""Downloading a file from the server: streamed to disk, tried again when its body breaks off.

The SDK retries failures before the response starts; a body that breaks off is ours to retry,
under the same transfer policy (as many retries as the client's), and a partial file never appears
at its destination (it is written beside it, then renamed).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Any

from openai_batch_jobs.api._sdk import openai
from openai_batch_jobs.api.redact import redact
from openai_batch_jobs.api.retry import (
    TRANSFER,
    Deadline,
    call_with_retries,
    describe_failure,
    transient_errors,
)
from openai_batch_jobs.errors import TransferError
from openai_batch_jobs.messages import warn

# The HTTP library reads 64 KiB at a time: asking for larger chunks only makes it join (and copy) them.
_CHUNK = 1 << 16


def download_file(client: Any, file_id: str, dest: Path, *, api_key: str | None = None) -> int:
    """Stream a file to ``dest`` atomically and return its size; a connection cut mid-body or a short
    body is tried again. A failure is a key-free TransferError."""
    retries = int(client.max_retries)
    try:
        expected: int | None = client.files.retrieve(file_id).bytes
    except (openai.APIStatusError, *transient_errors()) as e:
        raise TransferError(describe_failure(f"Looking up file {file_id}", e, api_key, retries)) from None

    problems: list[str] = []

    def attempt(_: Deadline) -> int:
        if problems:  # on stderr: a user waiting on a slow download should see why
            warn(f"Downloading file {file_id} again (retry {len(problems)} of {retries}): {problems[-1]}")
        fd, part = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as sink:
                size = _stream_body(client, file_id, sink, retries, api_key)
            if expected is not None and size != expected:
                raise _BodyCut(f"got {size:,} bytes, expected {expected:,}")
            os.replace(part, dest)
            return size
        except _BodyCut as cut:
            problems.append(cut.reason)
            raise
        finally:
            if os.path.exists(part):
                os.unlink(part)

    try:
        return call_with_retries(
            attempt,
            TRANSFER.with_retries(retries),
            action=f"Downloading file {file_id}",
            retry_if=lambda e: isinstance(e, _BodyCut),
        )
    except _BodyCut as cut:
        raise TransferError(
            redact(f"Downloading file {file_id} failed after {retries} retries: {cut.reason}", api_key)
        ) from None


class _BodyCut(Exception):
    """The body ended early or broke off: the whole download is worth another try."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _stream_body(client: Any, file_id: str, sink: IO[bytes], retries: int, api_key: str | None) -> int:
    size = 0
    transient = transient_errors()
    try:
        with client.files.with_streaming_response.content(file_id) as response:
            try:
                for chunk in response.iter_bytes(_CHUNK):
                    sink.write(chunk)
                    size += len(chunk)
            except transient as e:
                raise _BodyCut(f"connection lost after {size:,} bytes ({type(e).__name__})") from None
    except (openai.APIStatusError, *transient) as e:
        # Raised before the body started: the SDK has already spent its retries on it.
        raise TransferError(describe_failure(f"Downloading file {file_id}", e, api_key, retries)) from None
    return size
