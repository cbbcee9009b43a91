"""A batch's end: the final state entered, and its result files handed over to the Files API.

The output and error file ids are fixed and saved before the files are adopted, so a crash in between
is redone on restart with the same ids (`adopt`).
"""

from __future__ import annotations

import shutil
import time

from ..files.store import FileStore, new_file_id
from ._store import BatchStore
from .jsonl import ERRORS, INPUT, OUTPUT, write_expired
from .record import ACTIVE, BatchRecord


class ResultFiles:
    def __init__(self, store: BatchStore, files: FileStore) -> None:
        self._store = store
        self._files = files

    def expire(self, record: BatchRecord, when: float) -> None:
        """Requests not answered within the window go to the error file as `batch_expired`."""
        if record.in_progress is not None:
            work = self._store.work(record)
            expired = write_expired(record.id, work, record.input_offset)
            record.failed_count += expired
            record.processed += expired
            record.input_offset = (work / INPUT).stat().st_size
            record.error_bytes = (work / ERRORS).stat().st_size
        self.finish(record, "expired", when)

    def finish(self, record: BatchRecord, status: str, when: float) -> None:
        """Enter a final state; the result files become API files."""
        if record.output_bytes > 0:
            record.output_file_id = new_file_id()
        if record.error_bytes > 0:
            record.error_file_id = new_file_id()
        record.status = status
        setattr(record, status, when)
        self._store.save(record)
        self.adopt(record)

    def adopt(self, record: BatchRecord) -> None:
        """Add the result files whose ids are fixed to the Files API, once; then drop the work folder."""
        work = self._store.work(record)
        for file_id, name, kind in (
            (record.output_file_id, OUTPUT, "output"),
            (record.error_file_id, ERRORS, "error"),
        ):
            path = work / name
            if file_id is None or self._files.get(file_id) is not None or not path.exists():
                continue
            when = {"completed": record.completed, "expired": record.expired, "cancelled": record.cancelled}
            created = when.get(record.status) or time.time()
            expires = (
                None
                if record.output_expires_seconds is None
                else int(created) + record.output_expires_seconds
            )
            self._files.add(
                path,
                filename=f"{record.id}_{kind}.jsonl",
                purpose="batch_output",
                created=created,
                expires_at=expires,
                file_id=file_id,
            )
        if record.status not in ACTIVE and work.exists():
            shutil.rmtree(work, ignore_errors=True)
