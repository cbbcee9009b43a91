"""What became of a set of requests, and how that reads: the one count every download and round keeps.

A request ends as exactly one of: succeeded, failed (finally: not to be sent again), or to be sent
again (``resent``). ``missing`` counts the failed requests that no result file answers at all, the
ones a user most needs to hear about: `missing_report` names the first few of them, `report_missing`
warns (or fails) with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from openai_batch_jobs.errors import BatchResultError
from openai_batch_jobs.messages import counted, warn

# How many missing custom_ids a count keeps, and a warning or error names.
NAMED_MISSING = 5


@dataclass(kw_only=True)
class RequestCounts:
    """The requests of a batch, a part or a round by what became of them (``failed`` includes ``missing``)."""

    requests: int = 0
    succeeded: int = 0
    failed: int = 0
    missing: int = 0
    resent: int = 0
    missing_named: list[str] = field(default_factory=list)  # the first missing custom_ids, in input order

    def add_missing(self, custom_id: str) -> None:
        """Count a request no result file answers (a final failure), naming it if it is among the first."""
        self.failed += 1
        self.missing += 1
        if len(self.missing_named) < NAMED_MISSING:
            self.missing_named.append(custom_id)

    def text(self, *, resends: bool = False) -> str:
        """``"5 requests: 3 succeeded, 2 failed (1 missing)"``, and ``", 0 to send again"`` with ``resends``."""
        resent = f", {self.resent:,} to send again" if resends else ""
        return (
            f"{counted(self.requests, 'request')}: {self.succeeded:,} succeeded, "
            f"{self.failed:,} failed ({self.missing:,} missing){resent}"
        )

    @classmethod
    def total(cls, parts: Iterable[RequestCounts]) -> RequestCounts:
        """The sum of several counts; the missing ids named are the first ones of the first parts."""
        total = cls()
        for part in parts:
            total.requests += part.requests
            total.succeeded += part.succeeded
            total.failed += part.failed
            total.missing += part.missing
            total.resent += part.resent
            total.missing_named.extend(part.missing_named[: NAMED_MISSING - len(total.missing_named)])
        return total


def missing_report(counts: RequestCounts, subject: str) -> str:
    """``"<subject>: 7 of 10 requests are in neither the output nor the error file: 'a', 'b' ... and 2 more"``."""
    named = ", ".join(repr(i) for i in counts.missing_named)
    more = counts.missing - len(counts.missing_named)
    return (
        f"{subject}: {counts.missing:,} of {counted(counts.requests, 'request')} "
        f"{'is' if counts.missing == 1 else 'are'} in neither the output nor the "
        f"error file: {named}{f' and {more:,} more' if more > 0 else ''}"
    )


def report_missing(counts: RequestCounts, subject: str, note: str = "", *, fail: bool = False) -> None:
    """The one report of requests no result file answers: a warning, or with ``fail`` (the user's
    ``fail_on_missing_requests``) a BatchResultError. Nothing when none are missing."""
    if not counts.missing:
        return
    message = missing_report(counts, subject) + note
    if fail:
        raise BatchResultError(message + " (fail_on_missing_requests is set)")
    warn(message)
