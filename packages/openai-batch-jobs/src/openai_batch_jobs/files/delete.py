"""Deleting files on the server, best effort: what the collect step, a failed upload and the job
connector (a failed or aborted job's input files) all do.

A file already gone (404) counts as deleted, so deleting again (a repeated GetTask, a second abort)
is harmless. A failure never raises: it is returned as a key-free sentence for the caller to say
where the user sees it. The deletes run side by side (`delete_files` in threads, `delete_files_async`
on the connectors' event loop); with a deadline each request's timeout is what is left of it, so a
connector call stays within FlytePropeller's deadline; what the deadline cut short is returned as
``unfinished``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from openai_batch_jobs import interrupts
from openai_batch_jobs.api._sdk import openai
from openai_batch_jobs.api.retry import (
    Deadline,
    DeadlinePassed,
    describe_failure,
    is_transient,
    transient_errors,
)
from openai_batch_jobs.messages import counted

# Deletes of one call run this many at once.
DELETE_THREADS = 8


@dataclass
class Deletion:
    """What became of each file: deleted (or already gone), failed (with why), or not tried in time."""

    deleted: list[str] = field(default_factory=list)
    # (file id, why, whether trying again may help)
    failed: list[tuple[str, str, bool]] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)

    @property
    def retryable(self) -> list[str]:
        """Files that another try may still delete: cut short by the deadline or a transient fault."""
        return self.unfinished + [file_id for file_id, _, transient in self.failed if transient]

    def text(self, what: str = "input file") -> str:
        """One or two sentences for a message: what was deleted and what was not (and how to find it)."""
        parts = []
        if self.deleted:
            parts.append(f"Deleted its {counted(len(self.deleted), what)} from the server.")
        if self.failed:
            reasons = "; ".join(why for _, why, _ in self.failed)
            parts.append(f"Could not delete {counted(len(self.failed), what)}: {reasons}.")
        if self.unfinished:
            parts.append(
                f"Ran out of time deleting {counted(len(self.unfinished), what)}: "
                f"{', '.join(self.unfinished)}; delete them by hand."
            )
        return " ".join(parts)


def delete_files(
    client: Any,
    file_ids: Sequence[str],
    *,
    api_key: str | None = None,
    deadline: Deadline | None = None,
    threads: int = DELETE_THREADS,
) -> Deletion:
    """Delete the files, ``threads`` at a time; never raises for a failed delete (see `Deletion`)."""
    results: dict[str, tuple[str, str, bool] | None] = {}

    def delete(file_id: str) -> None:
        try:
            client.files.delete(file_id, **_options(deadline))
            results[file_id] = None
        except DeadlinePassed:
            return
        except (openai.APIStatusError, *transient_errors()) as exc:
            results[file_id] = _failure(file_id, exc, api_key)

    if file_ids:
        with ThreadPoolExecutor(max(1, min(threads, len(file_ids)))) as pool:
            list(pool.map(delete, file_ids))
    return _deletion(file_ids, results)


async def delete_files_async(
    client: Any, file_ids: Sequence[str], *, api_key: str | None = None, deadline: Deadline | None = None
) -> Deletion:
    """`delete_files` with the SDK's async client, the deletes side by side on the event loop."""
    results: dict[str, tuple[str, str, bool] | None] = {}

    async def delete(file_id: str) -> None:
        try:
            await client.files.delete(file_id, **_options(deadline))
            results[file_id] = None
        except DeadlinePassed:
            return
        except (openai.APIStatusError, *transient_errors()) as exc:
            results[file_id] = _failure(file_id, exc, api_key)

    await asyncio.gather(*(delete(file_id) for file_id in file_ids))
    return _deletion(file_ids, results)


def _options(deadline: Deadline | None) -> dict[str, Any]:
    return {} if deadline is None else {"timeout": deadline.remaining()}


def _failure(file_id: str, exc: BaseException, api_key: str | None) -> tuple[str, str, bool] | None:
    """What a failed delete says: None for a file already gone (404), else why and whether to retry."""
    if isinstance(exc, openai.NotFoundError):
        return None
    return (file_id, describe_failure(f"deleting {file_id}", exc, api_key), is_transient(exc))


def _deletion(file_ids: Sequence[str], results: dict[str, tuple[str, str, bool] | None]) -> Deletion:
    outcome = Deletion()
    for file_id in file_ids:
        if file_id not in results:
            outcome.unfinished.append(file_id)
        elif (failure := results[file_id]) is None:
            outcome.deleted.append(file_id)
        else:
            outcome.failed.append(failure)
    interrupts.note_deleted(outcome.deleted)
    return outcome
