"""Where each request's result line is: an on-disk index from custom_id to file and byte offset.

Results come back in any order and a request is looked up by its custom_id while its input is read in
order. A Python dict of a million ids would take hundreds of MB; an SQLite file with a small page cache
keeps memory flat whatever the number of requests, and the lines themselves stay in their files.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

from .config import READ_BUFFER
from .result_lines import LineKind, read_result_line

# How many unreadable lines without a custom_id a scan keeps to quote; the rest are only counted.
KEPT_PROBLEMS = 5


@dataclass(frozen=True)
class IndexedLine:
    file: int
    offset: int
    kind: LineKind
    line: int
    problem: str | None


@dataclass
class FileScan:
    """What indexing one result file found: its lines, and the unreadable ones that name no request."""

    label: str
    lines: int = 0
    orphans: int = 0  # unreadable lines whose custom_id could not be recovered
    orphan_problems: list[str] = field(default_factory=list)

    def orphan_text(self) -> str:
        """The orphaned lines as a sentence, e.g. "2 line(s) of the output file of batch b (line 3 is not JSON ...)"."""
        more = (
            f"; and {self.orphans - len(self.orphan_problems)} more" if self.orphans > KEPT_PROBLEMS else ""
        )
        return f"{self.orphans} line(s) of {self.label} could not be read ({'; '.join(self.orphan_problems)}{more})"


class ResultIndex:
    """custom_id -> the result line that answers it, over any number of output and error files.

    When two lines answer one custom_id, an answer beats a failure and a later failure beats an earlier one.
    """

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(
            "CREATE TABLE lines (custom_id TEXT PRIMARY KEY, file INTEGER, offset INTEGER, kind TEXT, "
            "line INTEGER, problem TEXT) WITHOUT ROWID"
        )
        self._paths: list[str] = []
        self._handles: dict[int, IO[bytes]] = {}

    def add_file(self, path: str, label: str) -> FileScan:
        """Index every line of the result file ``path``; ``label`` names it in messages."""
        number = len(self._paths)
        self._paths.append(path)
        scan = FileScan(label)
        with self._db:  # one transaction; executemany pulls the rows from the generator as it goes
            self._db.executemany(
                "INSERT INTO lines VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(custom_id) DO UPDATE SET "
                "file=excluded.file, offset=excluded.offset, kind=excluded.kind, line=excluded.line, "
                "problem=excluded.problem WHERE lines.kind != 'succeeded'",
                self._rows(path, number, scan),
            )
        return scan

    def find(self, custom_id: str) -> IndexedLine | None:
        row = self._db.execute(
            "SELECT file, offset, kind, line, problem FROM lines WHERE custom_id = ?", (custom_id,)
        ).fetchone()
        if row is None:
            return None
        return IndexedLine(row[0], row[1], LineKind(row[2]), row[3], row[4])

    def read_line(self, entry: IndexedLine) -> bytes:
        """The raw result line an entry points at."""
        handle = self._handles.get(entry.file)
        if handle is None:
            handle = self._handles[entry.file] = open(self._paths[entry.file], "rb")  # noqa: SIM115
        handle.seek(entry.offset)
        return handle.readline()

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()
        self._db.close()

    def __enter__(self) -> ResultIndex:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    @staticmethod
    def _rows(path: str, number: int, scan: FileScan) -> Iterator[tuple[str, int, int, str, int, str | None]]:
        offset = 0
        with open(path, "rb", buffering=READ_BUFFER) as stream:
            for line_number, raw in enumerate(stream, start=1):
                start, offset = offset, offset + len(raw)
                if not raw.strip():
                    continue
                scan.lines += 1
                result = read_result_line(raw)
                if result.custom_id is None:
                    scan.orphans += 1
                    if len(scan.orphan_problems) < KEPT_PROBLEMS:
                        scan.orphan_problems.append(f"line {line_number} {result.problem}")
                    continue
                yield result.custom_id, number, start, result.kind.value, line_number, result.problem
