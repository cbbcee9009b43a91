"""The one-line status of a local run, for a terminal and for a log alike.

On a terminal the line is rewritten in place at every poll. In a log (stderr is not a TTY) a line is
written when the status changes and otherwise every `LOG_INTERVAL_S`, so a long batch leaves a
readable trace instead of a screenful of repeats or nothing at all. Lines fit `WIDTH` columns.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import IO, Any

from openai_batch_jobs.job.status import QUEUED, PartStage

LOG_INTERVAL_S = 30.0
WIDTH = 80


def elapsed_text(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def status_text(info: Mapping[str, Any] | None, phase: str) -> tuple[str, str]:
    """(what changes mark a new status, the counts) from a connector's custom_info.

    A batch's info has `status` and `request_counts`; a job's has `parts` (by state) and `request_counts`,
    or, while the server cannot be read, `outage` (`FaultGrace.outage`) and no counts.
    """
    info = info or {}
    if info.get("outage"):  # the server cannot be asked: no counts to show
        return str(info["outage"]), ""
    counts = info.get("request_counts") or {}
    requests = f"{int(counts.get('completed', 0))}/{int(counts.get('total', 0))} done, {int(counts.get('failed', 0))} failed"
    parts = info.get("parts")
    if isinstance(parts, Mapping):
        if not int(parts.get("total", 0)):  # a later round that found nothing to send again
            return "nothing to send again", "no requests"
        done = int(parts.get(PartStage.DONE.value, 0))
        shown = (PartStage.RUNNING, PartStage.WAITING, PartStage.HELD, PartStage.FAILED)
        by_state = {k.value: int(parts.get(k.value, 0)) for k in shown}
        by_state["queued"] = sum(int(parts.get(k.value, 0)) for k in QUEUED)
        states = ", ".join(f"{v} {k}" for k, v in by_state.items() if v)
        status = f"parts {done}/{int(parts.get('total', 0))}" + (f" ({states})" if states else "")
        return status, requests
    return str(info.get("status") or phase.lower()), requests


class ProgressLine:
    """Writes the status line of one local run to `stream` (default: stderr)."""

    def __init__(
        self,
        name: str,
        stream: IO[str] | None = None,
        interval_s: float = LOG_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.stream = stream if stream is not None else sys.stderr
        self.interval_s = interval_s
        self.clock = clock
        self.start = clock()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_status: str | None = None
        self._last_written = -float("inf")
        self._open = False

    def update(self, info: Mapping[str, Any] | None, phase: str) -> None:
        """Show the run's status after a poll (`phase` is the Flyte phase's name)."""
        status, requests = status_text(info, phase)
        now = self.clock()
        line = self.format(status, requests, now - self.start)
        if self.tty:
            self.stream.write("\r" + line.ljust(WIDTH - 1))
            self._open = True
        elif status != self._last_status or now - self._last_written >= self.interval_s:
            self.stream.write(line + "\n")
            self._last_written = now
        self._last_status = status
        self.stream.flush()

    def close(self) -> None:
        """End the rewritten line (on a terminal), so what follows starts on a line of its own."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False

    def format(self, status: str, requests: str, elapsed: float) -> str:
        tail = f" {status}, {requests + ', ' if requests else ''}{elapsed_text(elapsed)}"
        # The name gives way first (it is shortened, marked "~"), then the tail is cut.
        room = WIDTH - 2 - len(tail)
        if room < 2:
            return tail.strip()[: WIDTH - 1]
        name = self.name if len(self.name) <= room else self.name[: room - 1] + "~"
        return name + ":" + tail
