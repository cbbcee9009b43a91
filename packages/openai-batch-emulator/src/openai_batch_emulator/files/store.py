"""Persistence in the data directory: file contents on disk, JSON metadata replaced atomically.

Layout: `files/<id>.data` + `files/<id>.json`, `batches/<id>.json`, `work/<batch id>/` (results being
written), `tmp/` (uploads in flight), `attempts.jsonl` (see `faults.request_failures`), `port` (the command line's
last port). Everything a restarted emulator needs is in these files.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import string
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

_ALPHANUM = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24, *, hexadecimal: bool = False) -> str:
    alphabet = "0123456789abcdef" if hexadecimal else _ALPHANUM
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def new_file_id() -> str:
    return new_id("file-", 22)


def write_json_atomic(path: Path, data: Any) -> None:
    """Readers see the old or the new document, never half of one (temp file + rename)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


class DataDir:
    """The directory tree, held exclusively: two live emulators on one directory would corrupt it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = root / "files"
        self.batches = root / "batches"
        self.work = root / "work"
        self.tmp = root / "tmp"
        for folder in (self.files, self.batches, self.work, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        self._lock_handle: IO[str] | None = open(root / "emulator.lock", "w")  # noqa: SIM115
        try:
            fcntl.flock(self._lock_handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_handle.close()
            self._lock_handle = None
            raise RuntimeError(f"another emulator is using the data directory {root}") from None
        # Uploads interrupted by a crash are garbage.
        for leftover in self.tmp.iterdir():
            leftover.unlink(missing_ok=True)
        self._seq_lock = threading.Lock()
        self._seq = 0

    def close(self) -> None:
        if self._lock_handle is not None:
            fcntl.flock(self._lock_handle.fileno(), fcntl.LOCK_UN)
            self._lock_handle.close()
            self._lock_handle = None

    def observe_seq(self, seq: int) -> None:
        with self._seq_lock:
            self._seq = max(self._seq, seq)

    def next_seq(self) -> int:
        """A creation counter: orders objects created within the same second, survives restarts."""
        with self._seq_lock:
            self._seq += 1
            return self._seq

    def temp_path(self) -> Path:
        return self.tmp / new_id("upload-", 16)

    @property
    def _port_file(self) -> Path:
        return self.root / "port"

    def remembered_port(self) -> int | None:
        """The port the command line served this directory on last time, if any."""
        try:
            port = int(self._port_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return port if 0 < port < 65536 else None

    def remember_port(self, port: int) -> None:
        self._port_file.write_text(f"{port}\n")


@dataclass
class FileRecord:
    id: str
    filename: str
    purpose: str
    bytes: int
    created: float
    seq: int
    expires_at: int | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": int(self.created),
            "expires_at": self.expires_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


class FileStore:
    """File metadata in memory (loaded at start), contents and metadata on disk."""

    def __init__(self, data: DataDir) -> None:
        self._data = data
        self._lock = threading.RLock()
        self._records: dict[str, FileRecord] = {}
        # How often each file's content was downloaded through the API (`Emulator.downloads`).
        self._downloads: dict[str, int] = {}
        for meta in data.files.glob("*.json"):
            record = FileRecord(**read_json(meta))
            if self.content_path(record.id).exists():
                self._records[record.id] = record
                data.observe_seq(record.seq)
        # Contents whose metadata never got written (crash mid-upload) are unreachable.
        for content in data.files.glob("*.data"):
            if content.stem not in self._records:
                content.unlink(missing_ok=True)

    def content_path(self, file_id: str) -> Path:
        return self._data.files / f"{file_id}.data"

    def _meta_path(self, file_id: str) -> Path:
        return self._data.files / f"{file_id}.json"

    def add(
        self,
        source: Path,
        *,
        filename: str,
        purpose: str,
        created: float,
        expires_at: int | None = None,
        file_id: str | None = None,
    ) -> FileRecord:
        """Adopt `source` (a finished temp file on the same filesystem) as a new file, by renaming it."""
        file_id = file_id or new_file_id()
        size = source.stat().st_size
        os.replace(source, self.content_path(file_id))
        record = FileRecord(
            id=file_id,
            filename=filename,
            purpose=purpose,
            bytes=size,
            created=created,
            seq=self._data.next_seq(),
            expires_at=expires_at,
        )
        write_json_atomic(self._meta_path(file_id), asdict(record))
        with self._lock:
            self._records[file_id] = record
        return record

    def get(self, file_id: str) -> FileRecord | None:
        with self._lock:
            return self._records.get(file_id)

    def delete(self, file_id: str) -> bool:
        with self._lock:
            record = self._records.pop(file_id, None)
        if record is None:
            return False
        self._meta_path(file_id).unlink(missing_ok=True)
        self.content_path(file_id).unlink(missing_ok=True)
        return True

    def note_download(self, file_id: str) -> None:
        with self._lock:
            self._downloads[file_id] = self._downloads.get(file_id, 0) + 1

    def downloads(self) -> dict[str, int]:
        """File id -> how many downloads of its content the API has started since the server started."""
        with self._lock:
            return dict(self._downloads)

    def listing(self) -> list[FileRecord]:
        """All files, oldest first."""
        with self._lock:
            return sorted(self._records.values(), key=lambda r: r.seq)
