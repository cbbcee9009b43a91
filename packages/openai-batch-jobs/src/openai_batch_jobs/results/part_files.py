"""The one parallel download of a job's part files: each part's files, in part order, a few parts ahead.

Parts download side by side (at most ``ahead`` parts on disk before the caller takes them), each
part's files one after the other, and come back in part order whatever order they finish in. The
download of one file is the caller's (``download(file_id, path)``): its retry policy and client are
the caller's too. A part's input file may also be fetched later, only when it is needed
(`PartFiles.fetch`; `RoundPart`: one part of a round as the sort reads it).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
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

    def round_part(self, keys: str | None, directory: Path, download: Download) -> RoundPart:
        """The part as a round's sort reads it: from its ``keys`` file when there is one, its input
        file then fetched only when the sort asks for it."""
        return RoundPart(
            self.path("input"),
            self.batch,
            self.path("output"),
            self.path("error"),
            keys,
            partial(self.fetch, "input", directory, download),
        )

    def fetch(self, kind: str, directory: Path, download: Download) -> str | None:
        """Download the part's file of ``kind`` (``<kind>_file_id`` of its batch; None when it has none)
        into ``directory``; a failure is a TransferError naming the file, the part and its batch."""
        file_id = self.batch.get(f"{kind}_file_id")
        if not file_id:
            return None
        path = directory / f"part{self.index + 1}-{kind}.jsonl"
        try:
            download(str(file_id), path)
        except TransferError as e:
            path.unlink(missing_ok=True)
            where = f"the {kind} file of part {self.index + 1} (batch {batch_label(self.batch)})"
            raise TransferError(f"Could not download {where}: {e}") from None
        self.paths[kind] = path
        return str(path)


@dataclass(frozen=True)
class RoundPart:
    """One part of a round: the requests it sent, its batch (as the job returned it), its result files.

    Paths are local files; a result file the batch did not produce is None. With ``keys_path`` (its
    requests' `request_keys.key_line` s, in order) the part is sorted from its keys, and its input
    file is read only to send requests again: ``input_path``, or ``fetch_input()`` when that is None.
    """

    input_path: str | None
    batch: Mapping[str, Any]
    output_path: str | None = None
    error_path: str | None = None
    keys_path: str | None = None
    fetch_input: Callable[[], str | None] | None = None

    @property
    def requests_path(self) -> str:
        """What the part is sorted from: its keys, else its input file."""
        path = self.keys_path or self.input_path
        assert path is not None, "a round's part needs its input file or its keys"
        return path

    def with_input(self) -> RoundPart:
        """The part sorted from its input file (fetched now when it is not here)."""
        path = self.input_path or (self.fetch_input() if self.fetch_input else None)
        return replace(self, input_path=path, keys_path=None)


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
        try:
            for kind in kinds:
                part.fetch(kind, directory, download)
        except TransferError:
            part.remove()
            raise
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
