"""The batch records: in memory, in `batches/<id>.json` of the data directory, each with its lock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from ..errors import not_found
from ..files.store import DataDir, read_json, write_json_atomic
from .record import BatchRecord


class BatchStore:
    """Every mutation of one batch happens under that batch's lock; the store's own lock guards only
    the mapping, so batches never wait on each other."""

    def __init__(self, data: DataDir) -> None:
        self._data = data
        self._lock = threading.Lock()
        self._records: dict[str, BatchRecord] = {}
        self._locks: dict[str, threading.Lock] = {}
        for path in data.batches.glob("*.json"):
            record = BatchRecord(**read_json(path))
            self._records[record.id] = record
            self._locks[record.id] = threading.Lock()
            data.observe_seq(record.seq)

    def work(self, record: BatchRecord) -> Path:
        """Where the batch's input copy and result files in the making are kept."""
        return self._data.work / record.id

    def save(self, record: BatchRecord) -> None:
        write_json_atomic(self._data.batches / f"{record.id}.json", record.to_json())

    def add(self, record: BatchRecord) -> None:
        self.save(record)
        with self._lock:
            self._records[record.id] = record
            self._locks[record.id] = threading.Lock()

    def get(self, batch_id: str) -> tuple[BatchRecord, threading.Lock]:
        with self._lock:
            record = self._records.get(batch_id)
            lock = self._locks.get(batch_id)
        if record is None or lock is None:
            raise not_found(f"No batch found with id '{batch_id}'.", param="batch_id")
        return record, lock

    def records(self) -> list[BatchRecord]:
        with self._lock:
            return list(self._records.values())

    def locked(self, keep: Callable[[BatchRecord], bool]) -> list[tuple[BatchRecord, threading.Lock]]:
        """The records `keep` selects, each with its lock (not taken)."""
        with self._lock:
            return [(r, self._locks[r.id]) for r in self._records.values() if keep(r)]
