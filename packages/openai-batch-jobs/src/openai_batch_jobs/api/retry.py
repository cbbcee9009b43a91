"""The one retry policy of every call that reaches the API, and what counts as a transient fault.

Every call of the plugins runs under one of the policies below: the upload's and download's requests
under `TRANSFER` (the SDK's own retries apply it, and the download's re-fetch of a body cut short
runs it through `call_with_retries`), the connector's CreateTask and DeleteTask under `CREATE` and
`CANCEL` (within propeller's call deadline), each GetTask once under `POLL`, through faults for up
to `POLL_FAULT_GRACE_S`. Changing how the plugins retry is a change to this file; the table in
docs/reliability.md is checked against it by a test.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from openai_batch_jobs.api._sdk import openai
from openai_batch_jobs.api.redact import redact
from openai_batch_jobs.clock import clock

logger = logging.getLogger("openai_batch_jobs")


T = TypeVar("T")

# Each computed wait is shortened by a random part of up to this fraction, so that many clients
# failing together do not all come back at the same instant.
JITTER = 0.25
# A deadline with less than this left is spent: no request could be answered in it.
MIN_TIME_LEFT_S = 0.05


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed call is tried again.

    The wait before retry ``n`` is ``first_wait_s * 2 ** (n - 1)``, at most ``max_wait_s``, less a
    random part of up to ``JITTER``; a ``Retry-After`` the server sent (up to ``max_retry_after_s``)
    replaces it, and a longer one ends the retries. ``retries`` of None retries for as long as the
    ``deadline_s`` allows, waits included; ``request_timeout_s`` caps each request. ``by_sdk`` says
    the SDK's own retries apply the policy (``max_retries``); otherwise the client is built with
    none and `call_with_retries` runs it.
    """

    retries: int | None
    first_wait_s: float
    max_wait_s: float
    deadline_s: float | None = None
    request_timeout_s: float | None = None
    max_retry_after_s: float = 60.0
    by_sdk: bool = False

    def __post_init__(self) -> None:
        if self.retries is None and self.deadline_s is None:
            raise ValueError("a retry policy without a retry count needs a deadline")
        if self.retries is not None and self.retries < 0:
            raise ValueError("retries must be >= 0")

    def with_retries(self, retries: int) -> RetryPolicy:
        """The same policy with another retry count (a task's `max_retries` setting)."""
        return replace(self, retries=retries)

    @property
    def sdk_max_retries(self) -> int:
        """What the SDK client is told: the policy's retries when the SDK applies it, else none."""
        return (self.retries or 0) if self.by_sdk else 0

    def wait_before(self, retry: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retry number ``retry`` (from 1); None if no retry is left."""
        if self.retries is not None and retry > self.retries:
            return None
        if retry_after is not None and retry_after > 0:
            return retry_after if retry_after <= self.max_retry_after_s else None
        backoff = min(self.first_wait_s * 2 ** (retry - 1), self.max_wait_s)
        return backoff * (1 - JITTER * random.random())


# Uploads, downloads and file look-ups: each request retried by the SDK, which uses this very
# schedule (0.5 s doubling, capped at 8 s; a test checks it against the SDK's constants).
TRANSFER = RetryPolicy(retries=5, first_wait_s=0.5, max_wait_s=8.0, by_sdk=True)
# CreateTask (with the look-up that finds an already created batch) must answer within propeller's
# call deadline; what is not done by then is found again when propeller repeats the call.
CREATE = RetryPolicy(retries=None, first_wait_s=0.25, max_wait_s=4.0, deadline_s=5.0, request_timeout_s=5.0)
# DeleteTask (cancel on abort) gets a little longer: nothing repeats it if it fails.
CANCEL = RetryPolicy(retries=None, first_wait_s=0.25, max_wait_s=4.0, deadline_s=8.0, request_timeout_s=5.0)
# GetTask asks once per call: propeller's next poll is its retry.
POLL = RetryPolicy(retries=0, first_wait_s=0.0, max_wait_s=0.0, request_timeout_s=5.0)
# GetTask answers RUNNING through transient faults for this long, then fails: an outage of minutes
# should not fail a 24 h batch, a dead endpoint should not hang it.
POLL_FAULT_GRACE_S = 30 * 60.0


class DeadlinePassed(Exception):
    """A policy's deadline left no time for another request."""


class Deadline:
    """When a call under a policy must be done, on the monotonic clock (None: no deadline)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._at = None if seconds is None else clock().monotonic() + seconds

    def remaining(self) -> float | None:
        """Seconds left (a request's timeout); raises DeadlinePassed when (nearly) none are."""
        if self._at is None:
            return None
        left = self._at - clock().monotonic()
        if left <= MIN_TIME_LEFT_S:
            raise DeadlinePassed
        return left

    def allows(self, wait: float) -> bool:
        """Whether waiting ``wait`` seconds still leaves time for a request."""
        return self._at is None or clock().monotonic() + wait < self._at - MIN_TIME_LEFT_S


def call_with_retries(
    call: Callable[[Deadline], T],
    policy: RetryPolicy,
    *,
    action: str,
    retry_if: Callable[[BaseException], bool] | None = None,
) -> T:
    """``call(deadline)`` under ``policy``: faults ``retry_if`` accepts (default: `is_transient`) are retried.

    The last failure is raised as it is once the retries or the deadline are spent; DeadlinePassed
    when ``call`` found no time left. ``action`` names the call in the log line of each retry.
    """
    deadline = Deadline(policy.deadline_s)
    retry = 0
    while True:
        try:
            return call(deadline)
        except DeadlinePassed:
            raise
        except Exception as exc:
            retry += 1
            clock().sleep(_wait_or_raise(exc, policy, retry, deadline, action, retry_if))


async def acall_with_retries(
    call: Callable[[Deadline], Awaitable[T]],
    policy: RetryPolicy,
    *,
    action: str,
    retry_if: Callable[[BaseException], bool] | None = None,
) -> T:
    """`call_with_retries` of a coroutine, for callers on an event loop (the connectors): the waits
    between tries leave the loop free."""
    deadline = Deadline(policy.deadline_s)
    retry = 0
    while True:
        try:
            return await call(deadline)
        except DeadlinePassed:
            raise
        except Exception as exc:
            retry += 1
            await clock().asleep(_wait_or_raise(exc, policy, retry, deadline, action, retry_if))


def _wait_or_raise(
    exc: Exception,
    policy: RetryPolicy,
    retry: int,
    deadline: Deadline,
    action: str,
    retry_if: Callable[[BaseException], bool] | None,
) -> float:
    """The wait before retry ``retry`` after ``exc``; re-raises ``exc`` when no retry is left."""
    retryable = retry_if or is_transient
    wait = policy.wait_before(retry, retry_after(exc)) if retryable(exc) else None
    if wait is None or not deadline.allows(wait):
        raise exc
    logger.info(f"{action}: {_fault(exc)}; trying again in {wait:.2f} s (retry {retry})")
    return wait


def transient_errors() -> tuple[type[BaseException], ...]:
    """Exceptions meaning the connection failed (possibly mid-body), so the same request may be tried again.

    The SDK wraps failures before a response arrives in APIConnectionError; a body cut while streaming
    surfaces as the HTTP library's TransportError (httpx2 in openai 3, httpx before). Only a library
    already loaded can have raised one, so nothing is imported here: this runs on error paths,
    possibly in a Ctrl-C handler that interrupted an import.
    """
    errors: list[type[BaseException]] = [openai.APIConnectionError]
    for name in ("httpx2", "httpx"):
        error = getattr(sys.modules.get(name), "TransportError", None)
        if isinstance(error, type) and issubclass(error, BaseException):
            errors.append(error)
    return tuple(errors)


def is_transient(error: BaseException) -> bool:
    """Whether the same request may succeed if sent again: lost connections, 408, 409, 429 and 5xx.

    The same statuses the SDK's own retries take (its `_should_retry`).
    """
    if isinstance(error, transient_errors()):
        return True
    status = getattr(error, "status_code", None) if isinstance(error, openai.APIStatusError) else None
    return isinstance(status, int) and (status in (408, 409, 429) or status >= 500)


def retry_after(error: BaseException) -> float | None:
    """The wait a failed response asked for (``retry-after-ms``, or ``retry-after`` in seconds or as a date)."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            return float(value) / divisor
        except ValueError:
            pass
    date = email.utils.parsedate_tz(headers.get("retry-after") or "")
    return None if date is None else float(email.utils.mktime_tz(date) - clock().now())


def describe_failure(
    action: str, error: BaseException, api_key: str | None, max_retries: int | None = None
) -> str:
    """A one-line, key-free account of why a request failed; with ``max_retries``, whether they were spent."""
    retried = ""
    if max_retries is not None:
        retried = f" (after {max_retries} retries)" if is_transient(error) else " (not retried)"
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        # The SDK's message starts "Error code: 503 - "; the status is already said once.
        message = (
            re.sub(rf"^Error code: {status}( - )?", "", str(getattr(error, "message", error)))
            or "(no message)"
        )
        text = f"{action} failed: HTTP {status}{retried}: {message}"
    else:
        text = f"{action} failed: connection error{retried}: {type(error).__name__}: {error}"
    return redact(text, api_key)


def _fault(error: BaseException) -> str:
    # Only the kind of fault: the error's text may carry a server's echo of the key.
    status = getattr(error, "status_code", None)
    return f"HTTP {status}" if isinstance(status, int) else type(error).__name__
