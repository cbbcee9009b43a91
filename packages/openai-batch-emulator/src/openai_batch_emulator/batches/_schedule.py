"""Time passing: every event of a batch's schedule that is due by a given moment, applied in order.

`advance` brings a batch's files and record up to "now", on every read and from the engine's ticker,
so the outcome does not depend on how often anyone polls, and a restarted emulator simply carries on.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from ..faults.request_failures import AttemptLedger
from ..forwarding.forwarder import advance as advance_forwarded
from ..forwarding.forwarder import recover as recover_forwarded
from . import _tokens
from ._answering import answer_until, due
from ._results import ResultFiles
from ._store import BatchStore
from ._validation import Limits, ValidationResult, validate_input
from .jsonl import ERRORS, INPUT, OUTPUT
from .record import ACTIVE, BatchRecord

if TYPE_CHECKING:
    from ..forwarding.forwarder import Forwarder


class Schedule:
    def __init__(
        self, store: BatchStore, results: ResultFiles, attempts: AttemptLedger, forwarder: Forwarder | None
    ) -> None:
        self._store = store
        self._results = results
        self._attempts = attempts
        self._forwarder = forwarder

    def recover(self, record: BatchRecord) -> None:
        """Undo what a crash left half done: lines written after the last save, results not yet adopted."""
        work = self._store.work(record)
        if record.status in ACTIVE and record.forwarded:
            recover_forwarded(record, work)
        elif record.status in ACTIVE:
            for name, size in ((OUTPUT, record.output_bytes), (ERRORS, record.error_bytes)):
                path = work / name
                if path.exists() and path.stat().st_size > size:
                    with path.open("r+b") as handle:
                        handle.truncate(size)
        else:
            self._results.adopt(record)

    def advance(self, record: BatchRecord, now: float) -> None:
        """Apply, in time order, every event of this batch's schedule that is due by `now`."""
        while self._step(record, now):
            pass

    def _step(self, record: BatchRecord, now: float) -> bool:
        """Apply the next event if it is due by `now`; whether the batch moved on to another state."""
        status = record.status
        if status == "validating":
            validated = min(record.validates, record.expires)
            if validated > now:
                return False
            if record.expires <= record.validates:
                self._results.expire(record, record.expires)
            else:
                self._validate(record, record.validates)
            return True
        if status in ("in_progress", "cancelling") and record.forwarded:
            work = self._store.work(record)
            return advance_forwarded(
                record, now, self._forwarder, work, self._results.finish, self._store.save
            )
        if status in ("in_progress", "cancelling"):
            return self._answer(record, now)
        if status == "finalizing":
            assert record.finalizing is not None
            return self._end_if_due(
                record, "completed", record.finalizing + record.knobs.finalizing_seconds, now
            )
        return False

    def _end_if_due(self, record: BatchRecord, status: str, when: float, now: float) -> bool:
        """Enter the final `status` at `when` if that is not after `now`; whether it did."""
        if when > now:
            return False
        self._results.finish(record, status, when)
        return True

    def _answer(self, record: BatchRecord, now: float) -> bool:
        """A scheduled batch in progress or cancelling: its answers due, then its next state, if due."""
        stop_at = min(now, record.expires, record.cancelling if record.cancelling is not None else now)
        if record.in_progress is not None:
            answer_until(
                record, due(record, stop_at), self._store.work(record), self._attempts, self._store.save
            )
        if record.status == "cancelling":
            assert record.cancelling is not None
            return self._end_if_due(
                record, "cancelled", record.cancelling + record.knobs.cancelling_seconds, now
            )
        if record.processed >= record.total:
            assert record.in_progress is not None
            record.status = "finalizing"
            record.finalizing = record.in_progress + record.total / record.knobs.requests_per_second
            self._store.save(record)
            return True
        if record.expires <= now:
            self._results.expire(record, record.expires)
            return True
        return False

    def _validate(self, record: BatchRecord, when: float) -> None:
        knobs = record.knobs
        limits = Limits(knobs.max_requests, knobs.max_input_bytes, knobs.max_embedding_inputs)
        result = validate_input(self._store.work(record) / INPUT, endpoint=record.endpoint, limits=limits)
        if not result.errors and result.model is not None:
            self._check_enqueued_tokens(record, result, when)
        if result.errors:
            record.status = "failed"
            record.failed = when
            record.errors = result.errors
        else:
            record.status = "in_progress"
            record.in_progress = when
            record.total = result.total
            record.model = result.model
            record.enqueued_tokens = result.tokens
        self._store.save(record)
        if record.status == "failed":
            shutil.rmtree(self._store.work(record), ignore_errors=True)

    def _check_enqueued_tokens(self, record: BatchRecord, result: ValidationResult, when: float) -> None:
        """Fail the batch, as OpenAI does, if its tokens would take its model past the enqueued limit."""
        assert result.model is not None
        limit = record.knobs.enqueued_token_limit(result.model)
        if limit is None:
            return
        self._validate_earlier(record, when)
        enqueued = _tokens.in_flight(self._store.records(), when).get(result.model, 0)
        if enqueued + result.tokens > limit:
            result.add("token_limit_exceeded", _tokens.limit_message(result.model, limit))

    def _validate_earlier(self, record: BatchRecord, when: float) -> None:
        """Bring every batch whose validation is due before this one's up to `when`, so the tokens in
        flight at `when` are known whatever order the batches are advanced in (after a restart, say).

        Only earlier batches' locks are taken, while holding this one's: a strict order, so no deadlock.
        """
        rank = (record.validates, record.seq)
        earlier = self._store.locked(lambda o: o.status == "validating" and (o.validates, o.seq) < rank)
        for other, lock in earlier:
            with lock:
                self.advance(other, when)
