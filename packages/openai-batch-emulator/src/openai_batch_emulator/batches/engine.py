"""`BatchEngine`: the Batch API's operations (create, retrieve, list, cancel) and time passing.

Reads bring a batch up to "now" before answering, and a ticker thread does the same for every batch in
flight, so expiry and results happen even when nobody polls (see `_schedule`).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._lists import list_page, page_after
from ..errors import ApiError, bad_request, not_found
from ..faults.request_failures import AttemptLedger
from ..files.store import DataDir, FileStore, new_id
from ..settings import Settings
from . import _tokens
from ._results import ResultFiles
from ._schedule import Schedule
from ._store import BatchStore
from .create import check_create
from .jsonl import INPUT
from .record import ACTIVE, CANCELLABLE, BatchRecord

if TYPE_CHECKING:
    from ..forwarding.forwarder import Forwarder

log = logging.getLogger(__name__)

TICK_SECONDS = 0.05


class BatchEngine:
    """Owns the batches; every mutation of one batch happens under that batch's lock."""

    def __init__(
        self,
        data: DataDir,
        files: FileStore,
        settings: Callable[[], Settings],
        forwarder: Forwarder | None = None,
    ) -> None:
        self._data = data
        self._forwarder = forwarder
        self._files = files
        self._settings = settings
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._attempts = AttemptLedger(data.root / "attempts.jsonl")
        self._store = BatchStore(data)
        self._schedule = Schedule(self._store, ResultFiles(self._store, files), self._attempts, forwarder)
        for record in self._store.records():
            self._schedule.recover(record)

    def create(self, body: Any) -> dict[str, Any]:
        request = check_create(body)
        source = self._files.get(request.input_file_id)
        if source is None:
            raise not_found(f"No such File object: {request.input_file_id}", param="input_file_id")
        if source.purpose != "batch":
            raise bad_request(
                f"Invalid 'input_file_id': file {source.id} has purpose '{source.purpose}'; a batch input "
                "file must have purpose 'batch'.",
                param="input_file_id",
                code="invalid_value",
            )
        record = BatchRecord(
            id=new_id("batch_", 32, hexadecimal=True),
            endpoint=request.endpoint,
            input_file_id=source.id,
            completion_window="24h",
            created=time.time(),
            seq=self._data.next_seq(),
            settings=self._settings().as_dict(),
            metadata=request.metadata,
            output_expires_seconds=request.output_expires_seconds,
            forwarded=self._forwarder is not None,
        )
        work = self._store.work(record)
        work.mkdir(parents=True)
        # The batch keeps reading its input even if the file is deleted meanwhile, as on OpenAI.
        _link_or_copy(self._files.content_path(source.id), work / INPUT)
        self._store.add(record)
        return record.to_api()

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        record, lock = self._store.get(batch_id)
        with lock:
            self._schedule.advance(record, time.time())
            return record.to_api()

    def cancel(self, batch_id: str) -> dict[str, Any]:
        record, lock = self._store.get(batch_id)
        with lock:
            now = time.time()
            self._schedule.advance(record, now)
            if record.status in CANCELLABLE:
                record.status = "cancelling"
                record.cancelling = now
                self._store.save(record)
            elif record.status != "cancelling":
                raise ApiError(409, f"Cannot cancel a batch with status '{record.status}'.")
            return record.to_api()

    def enqueued_tokens(self, when: float | None = None) -> dict[str, int]:
        """Estimated prompt tokens of the batches in flight, per model."""
        return _tokens.in_flight(self._store.records(), time.time() if when is None else when)

    def listing(self, *, after: str | None, limit: int) -> dict[str, Any]:
        """Newest first, `limit` at a time, continuing after the batch `after`."""
        ordered = sorted(self._store.records(), key=lambda r: r.seq, reverse=True)
        rest = page_after(ordered, after, f"Invalid 'after': no batch with id '{after}'.")
        return list_page([self.retrieve(r.id) for r in rest[:limit]], has_more=len(rest) > limit)

    # -- time passing ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._forwarder is not None:
            self._forwarder.start()
        self._stop.clear()
        self._ticker = threading.Thread(target=self._tick, name="batch-ticker", daemon=True)
        self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        if self._forwarder is not None:
            self._forwarder.stop()

    def close(self) -> None:
        self.stop()
        self._attempts.close()

    def _tick(self) -> None:
        """Move batches along even when nobody polls them (expiry, results appearing in the file list)."""
        while not self._stop.wait(TICK_SECONDS):
            for record, lock in self._store.locked(lambda r: r.status in ACTIVE):
                if self._stop.is_set():
                    return
                try:
                    with lock:
                        self._schedule.advance(record, time.time())
                except Exception:
                    log.exception("could not advance batch %s", record.id)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
