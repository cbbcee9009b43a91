"""Requests that no result file answers: the one report of them, a warning or (when asked) a failure."""

from __future__ import annotations

from openai_batch_jobs.errors import BatchResultError
from openai_batch_jobs.words import counted, warn


def report_missing(count: int, of: str, detail: str = "", *, fail: bool = False) -> None:
    """Say that ``count`` requests of ``of`` (``"the job"``, ``"round 2"``) are in neither result file.

    ``detail`` follows the sentence (which parts, which ids); with ``fail`` (the user's
    ``fail_on_missing_requests``) it is a BatchResultError instead of a warning.
    """
    if not count:
        return
    message = (
        f"{counted(count, 'request')} of {of} {'is' if count == 1 else 'are'} in neither the output nor the "
        f"error file{detail}"
    )
    if fail:
        raise BatchResultError(message + " (fail_on_missing_requests is set)")
    warn(message)
