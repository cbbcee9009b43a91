"""Finding what runs of this plugin left on an account, and cancelling and deleting it.

What is ours, and nothing else:

- a batch whose metadata names its owner (`flyte_task_execution`, which every job batch and every
  batch a cluster run creates carries), or whose input file is ours;
- an input or resend file whose name starts with `FILE_PREFIX` (every file the plugin uploads);
- the output and error files of our batches.

An orphan is one of those older than the age asked for: a batch still running, or a file. Kept out
whatever their age: what a run alive on this machine holds (`journal.live_records`), and the input
files of our batches that are younger than the age and still running (their run may still need them).
Listing reads every page of the account's batches and files: this is a command, not a connector call.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from openai_batch_jobs.api._sdk import openai
from openai_batch_jobs.api.batch_api import ACTIVE_STATUSES, TERMINAL_STATUSES
from openai_batch_jobs.api.batch_config import EXECUTION_METADATA_KEY
from openai_batch_jobs.files.delete import Deletion, delete_files
from openai_batch_jobs.files.uploads import FILE_PREFIX
from openai_batch_jobs.recovery.journal import live_records

PAGE_SIZE = 100
# How long `--delete` waits for the batches it cancelled to end, to delete the result files they leave.
CANCEL_WAIT_S = 120.0
CANCEL_POLL_S = 1.0


@dataclass
class Orphans:
    """What `find_orphans` found: running batches and files, and what it kept out as still in use."""

    batches: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    kept_live: int = 0


@dataclass
class Cleanup:
    cancelled: list[str] = field(default_factory=list)
    still_cancelling: list[str] = field(default_factory=list)
    deletion: Deletion = field(default_factory=Deletion)
    cancel_failures: list[str] = field(default_factory=list)


def find_orphans(client: Any, older_than_s: float, now: float | None = None) -> Orphans:
    """The account's orphans of this plugin created more than `older_than_s` seconds before `now`."""
    cutoff = (time.time() if now is None else now) - older_than_s
    live_keys, live_files = _live()
    inputs = {f["id"]: f for f in _pages(client.files, purpose="batch") if _ours(f)}
    batches = [b for b in _pages(client.batches) if _owner(b) or b.get("input_file_id") in inputs]
    live = [b for b in batches if _owner(b) in live_keys or b.get("input_file_id") in live_files]
    live_ids = {b["id"] for b in live}
    settled = [b for b in batches if b["id"] not in live_ids]
    found = Orphans(kept_live=len(live))
    found.batches = [b for b in settled if b.get("status") in ACTIVE_STATUSES and b["created_at"] <= cutoff]
    # Input files a running batch younger than the age still reads, or a live run holds, stay.
    needed = live_files | {
        b.get("input_file_id")
        for b in batches
        if b.get("status") in ACTIVE_STATUSES and b["created_at"] > cutoff
    }
    needed |= {b.get("input_file_id") for b in live}
    found.files = [f for f in inputs.values() if f["created_at"] <= cutoff and f["id"] not in needed]
    results = {b.get(f"{kind}_file_id") for b in settled for kind in ("output", "error")} - {None}
    found.files += [
        f
        for f in _pages(client.files, purpose="batch_output")
        if f["id"] in results and f["created_at"] <= cutoff
    ]
    return found


def delete_orphans(
    client: Any, found: Orphans, *, api_key: str | None = None, wait_s: float = CANCEL_WAIT_S
) -> Cleanup:
    """Cancel the batches, wait (up to `wait_s`) for them to end, then delete the files and the result
    files the cancelled batches left; best effort, every failure said in the `Cleanup`."""
    done = Cleanup()
    for batch in found.batches:
        try:
            client.batches.cancel(batch["id"])
            done.cancelled.append(batch["id"])
        except openai.APIStatusError as exc:
            if exc.status_code not in (400, 404, 409):  # already ending, or gone
                done.cancel_failures.append(f"{batch['id']}: {exc.status_code}")
    ended = _wait_until_ended(client, done.cancelled, wait_s)
    done.still_cancelling = [b for b in done.cancelled if b not in ended]
    left = [ended[b].get(f"{kind}_file_id") for b in ended for kind in ("output", "error")]
    file_ids = [f["id"] for f in found.files] + [f for f in left if f]
    done.deletion = delete_files(client, list(dict.fromkeys(file_ids)), api_key=api_key)
    return done


def owner(batch: Mapping[str, Any]) -> str:
    """Whom a batch belongs to, for a listing: its owner key, else that its input file is ours."""
    return _owner(batch) or "untagged (its input file is ours)"


def _owner(batch: Mapping[str, Any]) -> str | None:
    value = (batch.get("metadata") or {}).get(EXECUTION_METADATA_KEY)
    return value if isinstance(value, str) and value else None


def _ours(file: Mapping[str, Any]) -> bool:
    return str(file.get("filename") or "").startswith(FILE_PREFIX)


def _live() -> tuple[set[str], set[str]]:
    keys: set[str] = set()
    files: set[str] = set()
    for record in live_records():
        if isinstance(record.get("key"), str):
            keys.add(record["key"])
        files.update(str(i) for i in record.get("file_ids") or [])
    return keys, files


def _pages(resource: Any, **query: Any) -> Iterable[dict[str, Any]]:
    """Every item of a listing (the SDK reads the pages one after another), as dicts."""
    for item in resource.list(limit=PAGE_SIZE, **query):
        yield item.to_dict(mode="json")


def _wait_until_ended(client: Any, batch_ids: list[str], wait_s: float) -> dict[str, dict[str, Any]]:
    """The batches (as dicts) that reached an end within `wait_s`, by id."""
    ended: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + wait_s
    while True:
        for batch_id in [b for b in batch_ids if b not in ended]:
            batch = client.batches.retrieve(batch_id).to_dict(mode="json")
            if batch.get("status") in TERMINAL_STATUSES:
                ended[batch_id] = batch
        if len(ended) == len(batch_ids) or time.monotonic() >= deadline:
            return ended
        time.sleep(CANCEL_POLL_S)
