"""Chosen requests fail (`fail_requests`, `fail_custom_ids`): an HTTP status in the error file, or a
corrupt result line, optionally only on the first attempts of each custom_id.

Attempts are counted per custom_id across batches in `attempts.jsonl` in the data directory, so a
follow-up batch that sends a failed custom_id again can succeed, also after a restart. A batch asks for
the attempt number of a custom_id again when it recomputes results lost in a crash, and gets the same
number: the ledger records which batches tried each custom_id, not a bare count.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import status_error
from ..settings import FailureRule, Settings


class AttemptLedger:
    """custom_id -> the batches that tried it under a rule limited to first attempts, in order."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._tried: dict[str, list[str]] = {}
        if path.exists():
            with path.open("rb") as handle:
                for raw in handle:
                    try:
                        entry = json.loads(raw)
                    except ValueError:  # the last line of a crash, half written
                        continue
                    self._tried.setdefault(entry["custom_id"], []).append(entry["batch"])
        self._handle: IO[str] | None = path.open("a", encoding="utf-8")

    def attempt(self, custom_id: str, batch_id: str) -> int:
        """The 1-based attempt that `batch_id` makes of `custom_id` (the same number when asked again)."""
        with self._lock:
            batches = self._tried.setdefault(custom_id, [])
            if batch_id not in batches:
                batches.append(batch_id)
                assert self._handle is not None
                self._handle.write(json.dumps({"custom_id": custom_id, "batch": batch_id}) + "\n")
            return batches.index(batch_id) + 1

    def flush(self) -> None:
        """Called before a batch saves its progress, so no saved result has an unrecorded attempt."""
        with self._lock:
            if self._handle is not None:
                self._handle.flush()

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


@dataclass(frozen=True)
class Failure:
    """What happens to one request: an HTTP error (`status` is an int, `body` its error body) or a
    corrupt result line (`status` is a CORRUPTIONS name)."""

    status: int | str
    body: dict[str, Any] | None = None


class RequestFailures:
    """A batch's failure rules, compiled once per processing run."""

    def __init__(self, settings: Settings, batch_id: str, ledger: AttemptLedger) -> None:
        self._rules = [
            (re.compile(rule.custom_ids), rule, setting) for setting, rule in settings.failure_rules()
        ]
        self._batch_id = batch_id
        self._ledger = ledger

    def __bool__(self) -> bool:
        return bool(self._rules)

    def failure(self, custom_id: str) -> Failure | None:
        """The failure of the first rule matching `custom_id`, unless its attempts are used up."""
        for pattern, rule, setting in self._rules:
            if pattern.search(custom_id):
                return _failure(rule, setting) if self._applies(rule, custom_id) else None
        return None

    def _applies(self, rule: FailureRule, custom_id: str) -> bool:
        return rule.attempts is None or self._ledger.attempt(custom_id, self._batch_id) <= rule.attempts

    @staticmethod
    def corrupt(line: bytes, how: str) -> bytes:
        """A result line (ending in a newline) made unreadable: cut in half, or replaced by non-JSON text."""
        if how == "truncated":
            return line[: len(line) // 2] + b"\n"
        return b"<html><body>502 Bad Gateway</body></html>\n"


def _failure(rule: FailureRule, setting: str) -> Failure:
    if isinstance(rule.status, str):
        return Failure(rule.status)
    return Failure(rule.status, status_error(rule.status, f"(Injected by the emulator's {setting} setting.)"))
