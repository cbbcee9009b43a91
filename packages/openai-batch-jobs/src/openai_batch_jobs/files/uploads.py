"""Uploading request files to OpenAI Files (purpose ``batch``), and deleting them again when no one needs them.

What the upload steps and a round that sends requests again (its resend parts) share: one file
streamed, a split input's parts side by side, and a best-effort delete whose failures are said on
stderr (a file left behind is the user's to delete, so they must read which).

Every file uploaded here is named ``openai-batch-jobs-<name>.jsonl`` (`FILE_PREFIX`): that is how
the orphans command (`openai_batch_jobs.recovery.orphans`) tells this plugin's files from the rest.
"""

from __future__ import annotations

import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from openai_batch_jobs import interrupts
from openai_batch_jobs.api._sdk import openai
from openai_batch_jobs.api.retry import describe_failure, transient_errors
from openai_batch_jobs.errors import TransferError
from openai_batch_jobs.files import delete
from openai_batch_jobs.inputs.part_names import tagged_name
from openai_batch_jobs.inputs.split import Part, SplitPlan, part_file
from openai_batch_jobs.messages import counted

# The start of the name of every file this plugin uploads (input parts, resend parts).
FILE_PREFIX = "openai-batch-jobs-"
# Parts uploaded at once: the uploads wait on the network and the server, not on this pod's CPU.
UPLOAD_WORKERS = 4


def upload_parts(
    client: Any, plan: SplitPlan, *, api_key: str | None = None, workers: int = UPLOAD_WORKERS
) -> list[str]:
    """Upload the plan's parts, ``workers`` at a time; if one fails, delete every part uploaded, then raise.

    Each part's file is named with its token estimate and model (`part_names`). Each worker copies
    its part out of the input just before sending it, so the extra disk is at most ``workers`` parts. The ids come back in part order whatever order the uploads end in.
    """
    file_ids: list[str | None] = [None] * len(plan.parts)

    def upload(part: Part, directory: str) -> None:
        with part_file(plan, part, directory) as path:
            name = tagged_name(path, part.tokens, plan.summary.model)
            file_ids[part.index] = upload_request_file(client, path, api_key=api_key, name=name)
        if len(plan.parts) > 1:
            # One write per line (print writes the newline apart): the workers' lines do not interleave.
            sys.stderr.write(
                f"Uploaded part {part.index + 1} of {len(plan.parts)} "
                f"({counted(part.requests, 'request')} from line {part.first_line}) as file {file_ids[part.index]}\n"
            )
            sys.stderr.flush()

    try:
        with (
            tempfile.TemporaryDirectory(prefix="openai-parts-") as directory,
            ThreadPoolExecutor(max_workers=max(1, min(workers, len(plan.parts)))) as pool,
        ):
            futures = [pool.submit(upload, part, directory) for part in plan.parts]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    except BaseException:
        delete_files(client, [i for i in file_ids if i], api_key=api_key)
        raise
    return [i for i in file_ids if i]


def delete_files(client: Any, file_ids: list[str], *, api_key: str | None = None) -> list[str]:
    """Delete the files (best effort: a failure is said on stderr, not raised); returns those deleted."""
    outcome = delete.delete_files(client, file_ids, api_key=api_key)
    for _, why, _ in outcome.failed:
        print(f"{why[0].upper()}{why[1:]} (delete it by hand)", file=sys.stderr, flush=True)
    return outcome.deleted


def upload_request_file(
    client: Any, path: str, *, api_key: str | None = None, name: str | None = None
) -> str:
    """Stream the file (never read whole) under ``name`` (default: its own), with this plugin's prefix
    (what the orphans command recognises); the SDK rewinds the handle on each retry of a transient fault."""
    name = name or os.path.basename(path)
    if not name.startswith(FILE_PREFIX):
        name = FILE_PREFIX + name
    if not name.endswith(".jsonl"):
        name += ".jsonl"  # OpenAI accepts batch input only from files named .jsonl
    try:
        with open(path, "rb") as stream:
            uploaded = client.files.create(file=(name, stream, "application/jsonl"), purpose="batch")
    except (openai.APIStatusError, *transient_errors()) as e:
        raise TransferError(describe_failure(f"Uploading {name}", e, api_key, client.max_retries)) from None
    interrupts.note_uploaded(str(uploaded.id))
    return str(uploaded.id)
