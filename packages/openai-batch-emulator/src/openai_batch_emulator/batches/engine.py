"""The whole batch lifecycle: create, validate, process, finalize, expire, cancel.

A batch's state is a pure function of its creation time, the settings it copied at creation and the
moment it was cancelled: the request `i` (0-based) is answered at `in_progress_at + (i + 1) / rate`.
`advance` brings a batch's files and record up to "now" — on every read and from a ticker thread — so
the outcome does not depend on how often anyone polls, and a restarted emulator simply carries on.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ..answers.responders import Context, Reply, respond
from ..errors import ApiError, bad_request, not_found
from ..faults.request_failures import AttemptLedger, RequestFailures
from ..files.store import DataDir, FileStore, new_file_id, new_id, read_json, write_json_atomic
from ..forwarding import forwarder as _forwarder
from ..forwarding.result_files import scan
from ..settings import Settings
from .validation import Limits, ValidationResult, iter_lines, parse_line, validate_input

if TYPE_CHECKING:
    from ..forwarding.forwarder import Forwarder

log = logging.getLogger(__name__)

# The endpoints the API description allows for a batch; the emulator answers those in RESPONDERS.
SPEC_ENDPOINTS = (
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
)
ACTIVE = ("validating", "in_progress", "finalizing", "cancelling")
CANCELLABLE = ("validating", "in_progress", "finalizing")
CREATE_FIELDS = ("input_file_id", "endpoint", "completion_window", "metadata", "output_expires_after")
TICK_SECONDS = 0.05
# Result files are written in large blocks: a line is typically a few hundred bytes.
WRITE_BUFFER = 1024 * 1024
# Seconds of work between two saves of the record while answering a long stretch of requests: what a
# crash can lose (and a restart recomputes), against the cost of saving after every few requests.
SAVE_SECONDS = 1.0
# Named in the enqueued-token limit's message, as OpenAI names the caller's organization.
ORGANIZATION = "org-emulator"
# OpenAI's documented error-file entry of a request an expired batch never ran.
EXPIRED_ERROR = {
    "code": "batch_expired",
    "message": "This request could not be executed before the completion window expired.",
}
# Absorbs float rounding in `elapsed * rate`, so a request due exactly now counts as due.
EPSILON = 1e-9


@dataclass
class BatchRecord:
    """Everything persisted about one batch (`batches/<id>.json`)."""

    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    created: float
    seq: int
    settings: dict[str, Any]
    metadata: dict[str, str] | None = None
    output_expires_seconds: int | None = None
    status: str = "validating"
    model: str | None = None
    errors: list[dict[str, Any]] | None = None
    in_progress: float | None = None
    finalizing: float | None = None
    completed: float | None = None
    failed: float | None = None
    expired: float | None = None
    cancelling: float | None = None
    cancelled: float | None = None
    total: int = 0
    completed_count: int = 0
    failed_count: int = 0
    processed: int = 0  # input lines answered so far
    input_offset: int = 0  # bytes of input consumed by those answers
    output_bytes: int = 0
    error_bytes: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    enqueued_tokens: int = 0  # estimated prompt tokens of the input, held against the model's limit
    output_file_id: str | None = None
    error_file_id: str | None = None
    forwarded: bool = False  # answered by an upstream server (see `forwarding.forwarder`), not on a schedule
    _settings: Settings | None = field(default=None, repr=False, compare=False)

    @property
    def knobs(self) -> Settings:
        if self._settings is None:
            known = Settings().as_dict().keys()
            self._settings = Settings().updated(**{k: v for k, v in self.settings.items() if k in known})
        return self._settings

    @property
    def expires(self) -> float:
        return self.created + self.knobs.completion_window_seconds

    @property
    def validates(self) -> float:
        """When validation ends, on the schedule."""
        return self.created + self.knobs.validating_seconds

    def settles(self) -> float:
        """When the batch leaves the in-flight states (in_progress, finalizing, cancelling), on its
        schedule as known now: its final timestamp once it has one."""
        knobs = self.knobs
        for final in (self.completed, self.failed, self.expired, self.cancelled):
            if final is not None:
                return final
        if self.cancelling is not None:
            return self.cancelling + knobs.cancelling_seconds
        if self.finalizing is not None:
            return self.finalizing + knobs.finalizing_seconds
        if self.in_progress is None or knobs.requests_per_second <= 0 or self.forwarded:
            return self.expires
        answered = self.in_progress + self.total / knobs.requests_per_second
        return answered + knobs.finalizing_seconds if answered <= self.expires else self.expires

    def holds_tokens_at(self, when: float) -> bool:
        """Whether its enqueued tokens count against its model's limit at `when`: from the end of its
        validation until it finishes."""
        return self.in_progress is not None and self.in_progress <= when < self.settles()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["_settings"]
        return data

    def to_api(self) -> dict[str, Any]:
        def stamp(value: float | None) -> int | None:
            return None if value is None else int(value)

        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "model": self.model,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": int(self.created),
            "in_progress_at": stamp(self.in_progress),
            "expires_at": int(self.expires),
            "finalizing_at": stamp(self.finalizing),
            "completed_at": stamp(self.completed),
            "failed_at": stamp(self.failed),
            "expired_at": stamp(self.expired),
            "cancelling_at": stamp(self.cancelling),
            "cancelled_at": stamp(self.cancelled),
            "request_counts": {
                "total": self.total,
                "completed": self.completed_count,
                "failed": self.failed_count,
            },
            "usage": {
                "input_tokens": self.input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": self.output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": self.input_tokens + self.output_tokens,
            },
            "metadata": self.metadata,
        }


class BatchEngine:
    """Owns the batch records; every mutation of one batch happens under that batch's lock."""

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
        self._lock = threading.Lock()
        self._records: dict[str, BatchRecord] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._attempts = AttemptLedger(data.root / "attempts.jsonl")
        for path in data.batches.glob("*.json"):
            record = BatchRecord(**read_json(path))
            self._records[record.id] = record
            self._locks[record.id] = threading.Lock()
            data.observe_seq(record.seq)
            self._recover(record)

    # -- persistence -------------------------------------------------------------------------------

    def _work(self, record: BatchRecord) -> Path:
        return self._data.work / record.id

    def _save(self, record: BatchRecord) -> None:
        write_json_atomic(self._data.batches / f"{record.id}.json", record.to_json())

    def _recover(self, record: BatchRecord) -> None:
        """Undo what a crash left half done: lines written after the last save, results not yet adopted."""
        work = self._work(record)
        if record.status in ACTIVE and record.forwarded:
            if work.exists():
                _forwarder.copy_progress(record, scan(work))
            return
        if record.status in ACTIVE:
            for name, size in (("output.jsonl", record.output_bytes), ("errors.jsonl", record.error_bytes)):
                path = work / name
                if path.exists() and path.stat().st_size > size:
                    with path.open("r+b") as handle:
                        handle.truncate(size)
            return
        self._adopt_results(record)

    # -- API operations ----------------------------------------------------------------------------

    def create(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        for name in body:
            if name not in CREATE_FIELDS:
                raise bad_request(f"Unrecognized request argument supplied: {name}", param=name)
        for name in ("input_file_id", "endpoint", "completion_window"):
            if body.get(name) is None:
                raise bad_request(
                    f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter"
                )
            if not isinstance(body[name], str):
                raise bad_request(
                    f"Invalid type for '{name}': expected a string.", param=name, code="invalid_type"
                )
        endpoint = body["endpoint"]
        if endpoint not in SPEC_ENDPOINTS:
            supported = ", ".join(f"'{e}'" for e in SPEC_ENDPOINTS)
            raise bad_request(
                f"Invalid value: '{endpoint}'. Supported values are: {supported}.",
                param="endpoint",
                code="invalid_value",
            )
        if body["completion_window"] != "24h":
            raise bad_request(
                f"Invalid value: '{body['completion_window']}'. Supported values are: '24h'.",
                param="completion_window",
                code="invalid_value",
            )
        metadata = _check_metadata(body.get("metadata"))
        expires_seconds = _check_output_expiry(body.get("output_expires_after"))
        source = self._files.get(body["input_file_id"])
        if source is None:
            raise not_found(f"No such File object: {body['input_file_id']}", param="input_file_id")
        if source.purpose != "batch":
            raise bad_request(
                f"Invalid 'input_file_id': file {source.id} has purpose '{source.purpose}'; a batch input "
                "file must have purpose 'batch'.",
                param="input_file_id",
                code="invalid_value",
            )
        now = time.time()
        record = BatchRecord(
            id=new_id("batch_", 32, hexadecimal=True),
            endpoint=endpoint,
            input_file_id=source.id,
            completion_window="24h",
            created=now,
            seq=self._data.next_seq(),
            settings=self._settings().as_dict(),
            metadata=metadata,
            output_expires_seconds=expires_seconds,
            forwarded=self._forwarder is not None,
        )
        work = self._work(record)
        work.mkdir(parents=True)
        # The batch keeps reading its input even if the file is deleted meanwhile, as on OpenAI.
        _link_or_copy(self._files.content_path(source.id), work / "input.jsonl")
        self._save(record)
        with self._lock:
            self._records[record.id] = record
            self._locks[record.id] = threading.Lock()
        return record.to_api()

    def _get(self, batch_id: str) -> tuple[BatchRecord, threading.Lock]:
        with self._lock:
            record = self._records.get(batch_id)
            lock = self._locks.get(batch_id)
        if record is None or lock is None:
            raise not_found(f"No batch found with id '{batch_id}'.", param="batch_id")
        return record, lock

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        record, lock = self._get(batch_id)
        with lock:
            self._advance(record, time.time())
            return record.to_api()

    def cancel(self, batch_id: str) -> dict[str, Any]:
        record, lock = self._get(batch_id)
        with lock:
            now = time.time()
            self._advance(record, now)
            if record.status in CANCELLABLE:
                record.status = "cancelling"
                record.cancelling = now
                self._save(record)
            elif record.status != "cancelling":
                raise ApiError(409, f"Cannot cancel a batch with status '{record.status}'.")
            return record.to_api()

    def enqueued_tokens(self, when: float | None = None) -> dict[str, int]:
        """Estimated prompt tokens of the batches in flight, per model."""
        when = time.time() if when is None else when
        with self._lock:
            records = list(self._records.values())
        totals: dict[str, int] = {}
        for record in records:
            if record.model is not None and record.enqueued_tokens and record.holds_tokens_at(when):
                totals[record.model] = totals.get(record.model, 0) + record.enqueued_tokens
        return totals

    def listing(self, *, after: str | None, limit: int) -> dict[str, Any]:
        """Newest first, `limit` at a time, continuing after the batch `after`."""
        with self._lock:
            ordered = sorted(self._records.values(), key=lambda r: r.seq, reverse=True)
        if after is not None:
            ids = [r.id for r in ordered]
            if after not in ids:
                raise bad_request(f"Invalid 'after': no batch with id '{after}'.", param="after")
            ordered = ordered[ids.index(after) + 1 :]
        page = ordered[:limit]
        data = [self.retrieve(r.id) for r in page]
        return {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": len(ordered) > limit,
        }

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
            with self._lock:
                active = [(r, self._locks[r.id]) for r in self._records.values() if r.status in ACTIVE]
            for record, lock in active:
                if self._stop.is_set():
                    return
                try:
                    with lock:
                        self._advance(record, time.time())
                except Exception:
                    log.exception("could not advance batch %s", record.id)

    def _advance(self, record: BatchRecord, now: float) -> None:
        """Apply, in time order, every event of this batch's schedule that is due by `now`."""
        knobs = record.knobs
        while True:
            status = record.status
            if status == "validating":
                validated = record.created + knobs.validating_seconds
                if min(validated, record.expires) > now:
                    return
                if record.expires <= validated:
                    self._expire(record, record.expires)
                else:
                    self._validate(record, validated)
            elif status in ("in_progress", "cancelling") and record.forwarded:
                work = self._work(record)
                if not _forwarder.advance(record, now, self._forwarder, work, self._finish, self._save):
                    return
            elif status in ("in_progress", "cancelling"):
                stop_at = min(
                    now, record.expires, record.cancelling if record.cancelling is not None else now
                )
                if record.in_progress is not None:
                    self._process(record, self._due(record, stop_at))
                if status == "cancelling":
                    assert record.cancelling is not None
                    cancelled = record.cancelling + knobs.cancelling_seconds
                    if cancelled > now:
                        return
                    self._finish(record, "cancelled", cancelled)
                elif record.processed >= record.total:
                    assert record.in_progress is not None
                    record.status = "finalizing"
                    record.finalizing = record.in_progress + record.total / knobs.requests_per_second
                    self._save(record)
                elif record.expires <= now:
                    self._expire(record, record.expires)
                else:
                    return
            elif status == "finalizing":
                assert record.finalizing is not None
                completed = record.finalizing + knobs.finalizing_seconds
                if completed > now:
                    return
                self._finish(record, "completed", completed)
            else:
                return

    def _due(self, record: BatchRecord, when: float) -> int:
        """How many requests are answered by `when`."""
        assert record.in_progress is not None
        rate = record.knobs.requests_per_second
        elapsed = when - record.in_progress
        if rate <= 0 or elapsed <= 0:
            return 0
        return min(record.total, math.floor(elapsed * rate + EPSILON))

    def _validate(self, record: BatchRecord, when: float) -> None:
        knobs = record.knobs
        limits = Limits(knobs.max_requests, knobs.max_input_bytes, knobs.max_embedding_inputs)
        result = validate_input(self._work(record) / "input.jsonl", endpoint=record.endpoint, limits=limits)
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
        self._save(record)
        if record.status == "failed":
            shutil.rmtree(self._work(record), ignore_errors=True)

    def _check_enqueued_tokens(self, record: BatchRecord, result: ValidationResult, when: float) -> None:
        """Fail the batch, as OpenAI does, if its tokens would take its model past the enqueued limit."""
        assert result.model is not None
        limit = record.knobs.enqueued_token_limit(result.model)
        if limit is None:
            return
        self._validate_earlier(record, when)
        enqueued = self.enqueued_tokens(when).get(result.model, 0)
        if enqueued + result.tokens > limit:
            result.add(
                "token_limit_exceeded",
                f"Enqueued token limit reached for {result.model} in organization {ORGANIZATION}. "
                f"Limit: {limit:,} enqueued tokens. Please try again once some in_progress batches have "
                "been completed.",
            )

    def _validate_earlier(self, record: BatchRecord, when: float) -> None:
        """Bring every batch whose validation is due before this one's up to `when`, so the tokens in
        flight at `when` are known whatever order the batches are advanced in (after a restart, say).

        Only earlier batches' locks are taken, while holding this one's: a strict order, so no deadlock.
        """
        rank = (record.validates, record.seq)
        with self._lock:
            earlier = [
                (other, self._locks[other.id])
                for other in self._records.values()
                if other.status == "validating" and (other.validates, other.seq) < rank
            ]
        for other, lock in earlier:
            with lock:
                self._advance(other, when)

    def _process(self, record: BatchRecord, target: int) -> None:
        """Answer requests up to number `target`, appending to the result files being written."""
        if target <= record.processed:
            return
        knobs = record.knobs
        assert record.in_progress is not None
        failures = RequestFailures(knobs, record.id, self._attempts)
        known = re.compile(knobs.known_models)
        work = self._work(record)
        saved = time.monotonic()
        with (
            (work / "output.jsonl").open("ab", buffering=WRITE_BUFFER) as out,
            (work / "errors.jsonl").open("ab", buffering=WRITE_BUFFER) as err,
        ):
            for offset, raw in iter_lines(work / "input.jsonl", record.input_offset):
                request = parse_line(raw)
                custom_id = request["custom_id"]
                index = record.processed
                answered = int(record.in_progress + (index + 1) / knobs.requests_per_second)
                seed = _seed(record.id, custom_id)
                failure = failures.failure(custom_id) if failures else None
                if failure is not None and failure.body is not None:
                    assert isinstance(failure.status, int)
                    reply = Reply(failure.status, failure.body)
                else:
                    reply = respond(record.endpoint, request["body"], Context(seed, answered, known))
                line = {
                    "id": "batch_req_" + seed[:32],
                    "custom_id": custom_id,
                    "response": {
                        "status_code": reply.status_code,
                        "request_id": "req_" + seed[32:64],
                        "body": reply.body,
                    },
                    "error": None,
                }
                data = _encode(line)
                if failure is not None and failure.body is None:
                    assert isinstance(failure.status, str)
                    data = failures.corrupt(data, failure.status)
                if reply.status_code == 200:
                    out.write(data)
                    record.completed_count += 1
                    record.input_tokens += reply.input_tokens
                    record.output_tokens += reply.output_tokens
                else:
                    err.write(data)
                    record.failed_count += 1
                record.processed += 1
                record.input_offset = offset
                if record.processed >= target or time.monotonic() - saved >= SAVE_SECONDS:
                    saved = time.monotonic()
                    self._attempts.flush()
                    out.flush()
                    err.flush()
                    record.output_bytes = out.tell()
                    record.error_bytes = err.tell()
                    self._save(record)
                if record.processed >= target:
                    return

    def _expire(self, record: BatchRecord, when: float) -> None:
        """Requests not answered within the window go to the error file as `batch_expired`."""
        if record.in_progress is not None:
            work = self._work(record)
            with (work / "errors.jsonl").open("ab") as err:
                for offset, raw in iter_lines(work / "input.jsonl", record.input_offset):
                    custom_id = parse_line(raw)["custom_id"]
                    line_id = "batch_req_" + _seed(record.id, custom_id)[:32]
                    line = {
                        "id": line_id,
                        "custom_id": custom_id,
                        "response": None,
                        "error": EXPIRED_ERROR,
                    }
                    err.write(_encode(line))
                    record.failed_count += 1
                    record.processed += 1
                    record.input_offset = offset
                err.flush()
                record.error_bytes = err.tell()
        self._finish(record, "expired", when)

    def _finish(self, record: BatchRecord, status: str, when: float) -> None:
        """Enter a final state; the result files become API files (ids fixed first, so a crash can redo it)."""
        if record.output_bytes > 0:
            record.output_file_id = new_file_id()
        if record.error_bytes > 0:
            record.error_file_id = new_file_id()
        record.status = status
        setattr(record, status, when)
        self._save(record)
        self._adopt_results(record)

    def _adopt_results(self, record: BatchRecord) -> None:
        work = self._work(record)
        for file_id, name, kind in (
            (record.output_file_id, "output.jsonl", "output"),
            (record.error_file_id, "errors.jsonl", "error"),
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


def _seed(batch_id: str, custom_id: str) -> str:
    return hashlib.sha256(f"{batch_id}\x00{custom_id}".encode()).hexdigest()


def _encode(line: dict[str, Any]) -> bytes:
    """One line of a result file (compact, UTF-8)."""
    return orjson.dumps(line) + b"\n"


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _check_metadata(metadata: Any) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise bad_request(
            "Invalid type for 'metadata': expected an object.", param="metadata", code="invalid_type"
        )
    if len(metadata) > 16:
        raise bad_request(
            f"Invalid 'metadata': too many properties ({len(metadata)}); at most 16 are allowed.",
            param="metadata",
            code="object_above_max_length",
        )
    for key, value in metadata.items():
        if len(key) > 64:
            raise bad_request(
                f"Invalid 'metadata': key {key[:20]!r}... is longer than 64 characters.",
                param="metadata",
                code="invalid_value",
            )
        if not isinstance(value, str):
            raise bad_request(
                f"Invalid type for 'metadata.{key}': expected a string.",
                param=f"metadata.{key}",
                code="invalid_type",
            )
        if len(value) > 512:
            raise bad_request(
                f"Invalid 'metadata.{key}': string too long ({len(value)} characters); at most 512 allowed.",
                param=f"metadata.{key}",
                code="string_above_max_length",
            )
    return dict(metadata)


def _check_output_expiry(policy: Any) -> int | None:
    if policy is None:
        return None
    if not isinstance(policy, dict) or policy.get("anchor") != "created_at":
        raise bad_request(
            'Invalid \'output_expires_after\': expected {"anchor": "created_at", "seconds": N}.',
            param="output_expires_after",
            code="invalid_value",
        )
    seconds = policy.get("seconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 3600 <= seconds <= 2_592_000:
        raise bad_request(
            "Invalid 'output_expires_after.seconds': must be an integer between 3600 and 2592000.",
            param="output_expires_after.seconds",
            code="invalid_value",
        )
    return seconds
