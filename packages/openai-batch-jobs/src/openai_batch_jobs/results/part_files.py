"""The one parallel download of a job's part files: each part's files, in part order, a few parts ahead.

Parts download side by side (at most ``ahead`` parts on disk before the caller takes them), each
part's files one after the other, and come back in part order whatever order they finish in. The
download of one file is the caller's (``download(file_id, path)``): its retry policy and client are
the caller's too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openai_batch_jobs.errors import TransferError

Download = Callable[[str, Path], object]
# Parts whose files download at once.
DOWNLOAD_WORKERS = 3


@dataclass(frozen=True)
class PartFiles:
    """One part's batch and its local files by kind (``input``, ``output``, ``error``): only the kinds
    asked for that the batch has a file of."""

    index: int  # from 0, in the job's part order
    batch: Mapping[str, Any]
    paths: dict[str, Path]

    def path(self, kind: str) -> str | None:
        return str(self.paths[kind]) if kind in self.paths else None

    def remove(self) -> None:
        for path in self.paths.values():
            path.unlink(missing_ok=True)


def batch_label(batch: Mapping[str, Any]) -> str:
    """The batch's id, as messages name it."""
    return str(batch.get("id") or "(unknown id)")


def fetch_parts(
    batches: Sequence[Mapping[str, Any]],
    directory: Path,
    download: Download,
    *,
    kinds: Sequence[str] = ("output", "error"),
    ahead: int = DOWNLOAD_WORKERS,
) -> Iterator[PartFiles]:
    """Each part's files of ``kinds`` (``<kind>_file_id`` of its batch), in part order.

    A failed download is a TransferError naming the file, the part and its batch. Parts fetched
    ahead and not taken (the caller stopped) are deleted.
    """
    ahead = max(1, ahead)

    def fetch(index: int, batch: Mapping[str, Any]) -> PartFiles:
        part = PartFiles(index, batch, {})
        for kind in kinds:
            file_id = batch.get(f"{kind}_file_id")
            if not file_id:
                continue
            path = directory / f"part{index + 1}-{kind}.jsonl"
            try:
                download(str(file_id), path)
            except TransferError as e:
                part.remove()
                where = f"the {kind} file of part {index + 1} (batch {batch_label(batch)})"
                raise TransferError(f"Could not download {where}: {e}") from None
            part.paths[kind] = path
        return part

    with ThreadPoolExecutor(max_workers=ahead) as pool:
        pending: deque[Future[PartFiles]] = deque()
        queued = iter(enumerate(batches))
        try:
            while True:
                while len(pending) < ahead and (following := next(queued, None)) is not None:
                    pending.append(pool.submit(fetch, *following))
                if not pending:
                    return
                yield pending.popleft().result()
        finally:
            _drop(pending)


def _drop(pending: deque[Future[PartFiles]]) -> None:
    """Cancel the parts not started; delete the files of those that finished untaken."""
    for future in pending:
        future.cancel()
    for future in pending:
        if not future.cancelled() and future.exception() is None:
            future.result().remove()
