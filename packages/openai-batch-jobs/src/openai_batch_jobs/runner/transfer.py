"""Request files up and result files down, streamed, never read whole.

Uploads go through the SDK (which retries a transient fault and rewinds the handle); a download
whose body breaks off or comes up short is tried again under the transfer policy, and a partial file
never appears where it is asked for (it is written beside it, then renamed).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from openai_batch_jobs.api import server_files
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
from openai_batch_jobs.inputs.split import Part, SplitPlan, part_file
from openai_batch_jobs.words import counted, warn

UPLOAD_WORKERS = 4
_CHUNK = 1 << 16


def upload_request_file(client: Any, path: str, *, api_key: str | None = None) -> str:
    """Upload one request file for a batch; its id. OpenAI takes batch input only from `.jsonl` names."""
    name = os.path.basename(path)
    if not name.endswith(".jsonl"):
        name += ".jsonl"
    try:
        with open(path, "rb") as stream:
            uploaded = client.files.create(file=(name, stream, "application/jsonl"), purpose="batch")
    except (openai.APIStatusError, *transient_errors()) as e:
        raise TransferError(describe_failure(f"Uploading {name}", e, api_key, client.max_retries)) from None
    return str(uploaded.id)


def upload_parts(
    client: Any, plan: SplitPlan, *, api_key: str | None = None, workers: int = UPLOAD_WORKERS
) -> list[str]:
    """Upload the plan's parts, ``workers`` at a time, ids in part order; if one fails, delete every
    part uploaded, then raise. Each worker cuts its part out just before sending it, so the extra disk
    is at most ``workers`` parts."""
    file_ids: list[str | None] = [None] * len(plan.parts)

    def upload(part: Part, directory: str) -> None:
        with part_file(plan, part, directory) as path:
            file_ids[part.index] = upload_request_file(client, path, api_key=api_key)
        if len(plan.parts) > 1:
            print(
                f"Uploaded part {part.index + 1} of {len(plan.parts)} ({counted(part.requests, 'request')} "
                f"from line {part.first_line}) as file {file_ids[part.index]}",
                file=sys.stderr,
                flush=True,
            )

    try:
        with (
            tempfile.TemporaryDirectory(prefix="openai-parts-") as directory,
            ThreadPoolExecutor(max_workers=max(1, min(workers, len(plan.parts)))) as pool,
        ):
            for future in [pool.submit(upload, part, directory) for part in plan.parts]:
                future.result()
    except BaseException:
        delete_files(client, [i for i in file_ids if i], api_key=api_key)
        raise
    return [i for i in file_ids if i]


def delete_files(client: Any, file_ids: Sequence[str], *, api_key: str | None = None) -> list[str]:
    """Delete the files, best effort: a failure is said on stderr (with the file's id), not raised."""
    outcome = server_files.delete_files(client, list(file_ids), api_key=api_key)
    for _, why, _ in outcome.failed:
        warn(f"{why[0].upper()}{why[1:]} (delete it by hand)")
    return outcome.deleted


class _BodyCut(Exception):
    """The body ended early or broke off: the whole download is worth another try."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def download_file(client: Any, file_id: str, dest: Path, *, api_key: str | None = None) -> int:
    """Stream file ``file_id`` to ``dest`` atomically; its size in bytes."""
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


def _stream_body(client: Any, file_id: str, sink: Any, retries: int, api_key: str | None) -> int:
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


def delete_in_turn(client: Any, file_ids: Sequence[str], *, api_key: str | None = None) -> list[str]:
    """`delete_files` one file after another, in this thread: at interpreter exit (an interrupted run's
    cleanup) no thread pool may start. Returns the files deleted (or already gone)."""
    deleted = []
    for file_id in file_ids:
        try:
            client.files.delete(file_id)
        except openai.NotFoundError:
            pass
        except (openai.APIStatusError, *transient_errors()) as e:
            warn(describe_failure(f"Deleting {file_id}", e, api_key) + " (delete it by hand)")
            continue
        deleted.append(file_id)
    return deleted
