"""What a local run leaves on this machine so that a run killed mid-job can be re-attached to.

A local run has no workflow engine to remember what it created. Each step that spends (uploading
parts, creating batches) claims a journal named by a fingerprint of its input and settings: a small
JSON file under `state_dir()`, locked (`flock`) for as long as the process lives and removed when the
process exits on its own (a normal end, an error, Ctrl-C). The operating system drops the lock when
the process dies however it dies, so a journal that exists and is not locked was left by a run that
was killed (SIGKILL, power loss): what it recorded (its file ids, its batches' key) is handed to the
next run with the same fingerprint, which carries on from there (`Claim.left`).

A journal still locked belongs to a live run: `claim` returns None and the caller stays apart
(uploads its own files, tags its own batches), so two identical runs never share anything and
neither deletes what the other still needs. Journals are this machine's: a run on another machine
never re-attaches. Where `fcntl` does not exist (Windows) nothing is claimed.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no re-attaching
    fcntl = None  # type: ignore[assignment]

STATE_DIR_ENV = "OPENAI_BATCH_JOBS_STATE_DIR"
SUFFIX = ".journal"
READ_CHUNK = 1 << 20


def state_dir() -> Path:
    """`OPENAI_BATCH_JOBS_STATE_DIR`, else `$XDG_STATE_HOME/openai-batch-jobs/runs` (`~/.local/state`):
    not a temporary folder, which a reboot after a power loss may empty."""
    explicit = os.environ.get(STATE_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "openai-batch-jobs" / "runs"


def fingerprint(*parts: Any) -> str:
    """A sha256 (hex) of JSON-able parts: the same parts in the same order give the same print."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_digest(path: str) -> str:
    """The sha256 (hex) of a file's bytes, read in chunks (never whole)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Claim:
    """A journal this process holds; `left` is what a killed run recorded there ({} if none)."""

    path: Path
    fd: int
    left: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def resumed(self) -> bool:
        return bool(self.left)

    def record(self, **fields: Any) -> None:
        """Add `fields` to the journal, on disk before this returns (a power loss right after keeps them)."""
        self.data.update(fields)
        raw = json.dumps(self.data, sort_keys=True).encode("utf-8")
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, raw, 0)
        os.fsync(self.fd)


_held: list[Claim] = []
_held_lock = threading.Lock()


def claim(kind: str, print_: str) -> Claim | None:
    """Hold the journal of `kind` and fingerprint `print_`; None while a live run holds it."""
    if fcntl is None:
        return None
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{kind}-{print_[:40]}{SUFFIX}"
    fd = _lock(path)
    if fd is None:
        return None
    left = _read(fd)
    held = Claim(path, fd, left, {"pid": os.getpid(), "started_at": time.time(), "kind": kind})
    held.record()
    with _held_lock:
        _held.append(held)
    return held


def live_records() -> Iterator[dict[str, Any]]:
    """What the journals of runs alive on this machine recorded (their file ids, their batches' key)."""
    if fcntl is None or not state_dir().is_dir():
        return
    mine = {c.path for c in _held}
    for path in state_dir().glob(f"*{SUFFIX}"):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            if path not in mine:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    continue  # not locked: no live run holds it
                except BlockingIOError:
                    pass
            yield _read(fd)
        finally:
            os.close(fd)


def _lock(path: Path) -> int | None:
    """An fd of `path` locked by this process, or None when another holds the lock."""
    assert fcntl is not None
    for _ in range(3):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        # Its holder may have removed the file between our open and our lock: lock the one named now.
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
    return None


def _read(fd: int) -> dict[str, Any]:
    raw = b""
    while chunk := os.pread(fd, READ_CHUNK, len(raw)):
        raw += chunk
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@atexit.register
def _release_all() -> None:
    """A process that ends on its own finished its runs (or cancelled them): nothing to re-attach to.

    Emptied before it is removed, so a run that opened the file just before finds nothing left.
    """
    with _held_lock:
        for held in _held:
            try:
                os.ftruncate(held.fd, 0)
                held.path.unlink(missing_ok=True)
            finally:
                os.close(held.fd)
        _held.clear()
