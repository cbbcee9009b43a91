"""Re-attaching a local run to what a killed run of the same input and settings created.

Three steps spend, and each carries on from its journal (`journal`):

- the upload of the parts (`upload_once`, fingerprint: the server, the input's sha256, the part
  limits and the endpoint): the parts a killed run uploaded are used again when every one of them is
  still on the server with the size of its part; else all are uploaded afresh;
- the job's batches (`local_job_key`, fingerprint: the server, the parts' file ids and the job's
  settings): the key the killed run tagged its batches with, so the runner's find-or-create finds
  them (`JobRunner.start`) and creates batches only for parts that have none;
- a round's resend parts (`upload_once` again, fingerprint: the resend file's sha256 and the same
  limits), so that the next round's job finds its batches the same way.

A changed input or setting gives another fingerprint, hence a fresh start. A run whose journal a live
run holds stays apart (its own files, a key of its own), so nothing is shared between live runs.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from openai_batch_jobs.api._sdk import openai
from openai_batch_jobs.clock import clock, new_id
from openai_batch_jobs.files.uploads import FILE_PREFIX, upload_parts
from openai_batch_jobs.inputs.split import SplitPlan
from openai_batch_jobs.messages import counted
from openai_batch_jobs.recovery.journal import Claim, claim, file_digest, fingerprint

# Characters of the fingerprint a local job's key carries (then a slash and the run's own id).
KEY_PRINT_CHARS = 32


def server_of(client: Any) -> str:
    """The server a client talks to, as a fingerprint's part (file ids mean nothing elsewhere)."""
    return f"{client.base_url}|{getattr(client, 'organization', None) or ''}"


def upload_claim(
    client: Any, kind: str, path: str, settings: Mapping[str, Any], *, sha256: str | None = None
) -> Claim | None:
    """The journal of uploading the file at `path` (its bytes' ``sha256``, computed here unless given)
    under `settings`."""
    digest = sha256 if sha256 is not None else file_digest(path)
    return claim(kind, fingerprint(kind, server_of(client), digest, dict(settings)))


def upload_once(client: Any, plan: SplitPlan, held: Claim | None, *, api_key: str | None = None) -> list[str]:
    """The parts' file ids: those a killed run of the same input uploaded when all are still there
    (said on stderr), else new uploads, recorded in the journal `held` for a run after this one."""
    left = held.left.get("file_ids") if held is not None else None
    if isinstance(left, list) and _still_there(client, left, [p.size for p in plan.parts]):
        print(
            f"Re-attaching: the {counted(len(left), 'part')} a killed run of this input uploaded are still "
            f"on the server ({', '.join(left)}); not uploading them again",
            file=sys.stderr,
            flush=True,
        )
        held.record(file_ids=left)  # type: ignore[union-attr]
        return [str(i) for i in left]
    file_ids = upload_parts(client, plan, api_key=api_key)
    if held is not None:
        held.record(file_ids=file_ids)
    return file_ids


def local_job_key(
    file_ids: Sequence[str], settings: Mapping[str, Any], server: str
) -> tuple[str, float | None]:
    """The key a local job tags its batches with, and how far back to look for them (None: the
    runner's usual look-back).

    ``local/<fingerprint>/<run>``: a killed run's key when its journal was left (its batches are then
    found again, however long ago they were created); else a new one, recorded, with a run id of its
    own so that a finished run's batches are never mistaken for this run's.
    """
    print_ = fingerprint("job", server, list(file_ids), dict(settings))
    held = claim("job", print_)
    left = held.left if held is not None else {}
    if isinstance(left.get("key"), str) and isinstance(left.get("started_at"), (int, float)):
        assert held is not None
        held.record(key=left["key"], started_at=left["started_at"])
        print(
            f"Re-attaching to the batches of a killed run of this job ({left['key']})",
            file=sys.stderr,
            flush=True,
        )
        return left["key"], float(left["started_at"])
    # The tag names the job by its parts and settings, not by the server's URL (file ids are the
    # server's own), so the same job reads the same whatever name the server goes by.
    tag = fingerprint("job", list(file_ids), {k: v for k, v in settings.items() if k != "base_url"})
    key = f"local/{tag[:KEY_PRINT_CHARS]}/{new_id().hex[:12]}"
    if held is not None:
        held.record(key=key, started_at=clock().now())
    return key, None


def _still_there(client: Any, file_ids: Sequence[Any], sizes: Sequence[int]) -> bool:
    """Whether every file is on the server, processed or being processed, with the part's size."""
    if len(file_ids) != len(sizes) or not all(isinstance(i, str) for i in file_ids):
        return False
    for file_id, size in zip(file_ids, sizes, strict=True):
        try:
            found = client.files.retrieve(file_id)
        except openai.NotFoundError:
            return False
        if found.bytes != size or getattr(found, "status", None) in ("error", "deleted"):
            return False
    return True


def resend_stem(batches: Sequence[Mapping[str, Any]]) -> str:
    """The name of a round's resend file: the same for every run of the round, and no other job's.

    On the server it reads ``retry-of-<batch id>``, the name `earlier_uploads` and the orphans command
    find a killed run's files by."""
    return f"retry-of-{(batches[0].get('id') if batches else None) or 'job'}"


def earlier_uploads(client: Any, stem: str, batches: Sequence[Mapping[str, Any]]) -> list[str]:
    """Files an earlier run of this round uploaded (named after `resend_stem`, newer than its batches).

    Lists the account's batch files newest first and stops at the round's first batch's creation.
    """
    since = min(int(b.get("created_at") or 0) for b in batches)
    found = []
    for file in client.files.list(purpose="batch", order="desc", limit=100):
        if int(file.created_at) < since:
            break
        if str(file.filename).startswith(FILE_PREFIX + stem):
            found.append(str(file.id))
    return found
