"""The retry policy itself: its waits, `Retry-After`, retry counts and deadlines (core.retry)."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from openai_batch_jobs.api.retry import (
    CREATE,
    JITTER,
    TRANSFER,
    Deadline,
    DeadlinePassed,
    RetryPolicy,
    call_with_retries,
    retry_after,
)
from tests.support.sdk_http import sdk_http

REQUEST = sdk_http.Request("POST", "http://127.0.0.1/v1/batches")
QUICK = RetryPolicy(retries=3, first_wait_s=0.001, max_wait_s=0.002)


def status_error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    response = sdk_http.Response(status, request=REQUEST, headers=headers or {})
    return openai.APIStatusError(f"Error code: {status}", response=response, body=None)


@pytest.mark.parametrize(
    ("policy", "retry", "after", "expected"),
    [
        (TRANSFER, 1, None, (0.5 * (1 - JITTER), 0.5)),
        (TRANSFER, 5, None, (8.0 * (1 - JITTER), 8.0)),
        (TRANSFER, 6, None, None),  # retries spent
        (TRANSFER, 1, 2.5, (2.5, 2.5)),  # Retry-After replaces the backoff
        (TRANSFER, 1, 61.0, None),  # ... and one longer than the policy waits ends the retries
        (CREATE, 30, None, (4.0 * (1 - JITTER), 4.0)),  # no count: the deadline is the bound
    ],
)
def test_waits_follow_the_policy(
    policy: RetryPolicy, retry: int, after: float | None, expected: tuple[float, float] | None
) -> None:
    wait = policy.wait_before(retry, after)
    if expected is None:
        assert wait is None
    else:
        assert wait is not None
        assert expected[0] <= wait <= expected[1]


def test_retry_after_is_read_in_every_form() -> None:
    assert retry_after(status_error(429, {"retry-after": "2"})) == 2.0
    assert retry_after(status_error(429, {"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert retry_after(status_error(429)) is None
    assert retry_after(openai.APIConnectionError(request=REQUEST)) is None
    dated = retry_after(status_error(503, {"retry-after": "Wed, 21 Oct 2099 07:28:00 GMT"}))
    assert dated is not None
    assert dated > 3600


def test_a_transient_fault_is_retried_until_the_call_succeeds() -> None:
    faults = [status_error(503), openai.APIConnectionError(request=REQUEST)]

    def call(_: Deadline) -> str:
        if faults:
            raise faults.pop(0)
        return "done"

    assert call_with_retries(call, QUICK, action="test") == "done"
    assert faults == []


@pytest.mark.parametrize(
    ("policy", "fault", "retry_if", "calls"),
    [
        (QUICK, status_error(500), None, 1 + 3),  # retries spent: the last fault is raised
        (QUICK, status_error(400), None, 1),  # not transient: raised at once
        (QUICK, status_error(409), lambda e: False, 1),  # retry_if chooses what is retried
        # A Retry-After beyond the deadline ends the retries.
        (
            RetryPolicy(retries=None, first_wait_s=0.001, max_wait_s=0.001, deadline_s=30.0),
            status_error(429, {"retry-after": "45"}),
            None,
            1,
        ),
    ],
)
def test_a_fault_that_stays_is_raised_after_the_tries_the_policy_allows(
    policy: RetryPolicy, fault: Exception, retry_if: Any, calls: int
) -> None:
    made: list[int] = []

    def call(_: Deadline) -> Any:
        made.append(1)
        raise fault

    with pytest.raises(type(fault)):
        call_with_retries(call, policy, action="test", retry_if=retry_if)
    assert len(made) == calls


def test_a_call_finding_its_deadline_spent_raises_deadline_passed() -> None:
    policy = RetryPolicy(retries=None, first_wait_s=0.001, max_wait_s=0.001, deadline_s=0.0)
    with pytest.raises(DeadlinePassed):
        call_with_retries(lambda deadline: deadline.remaining(), policy, action="test")


def test_a_policy_needs_a_bound() -> None:
    with pytest.raises(ValueError, match="needs a deadline"):
        RetryPolicy(retries=None, first_wait_s=1, max_wait_s=1)
    assert Deadline(None).remaining() is None
