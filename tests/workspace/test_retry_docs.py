"""docs/reliability.md's table says what `api.retry` does: each cell is rendered from the policies.

Change a policy and this test prints the cell the page must now carry.
"""

from __future__ import annotations

import openai._constants as sdk_constants

from flytekitplugins.openai.files.config import DEFAULT_MAX_RETRIES
from openai_batch_jobs.api.retry import (
    CANCEL,
    CREATE,
    JITTER,
    POLL,
    POLL_FAULT_GRACE_S,
    TRANSFER,
    RetryPolicy,
)
from tests.support.wheels import ROOT


def waits(policy: RetryPolicy) -> str:
    return f"waiting {policy.first_wait_s:g} s doubling to at most {policy.max_wait_s:g} s"


def within_deadline(policy: RetryPolicy) -> str:
    return (
        f"retried for up to {policy.deadline_s:g} s in all, {waits(policy)}, or the server's "
        f"`Retry-After` if it fits; each request capped at {policy.request_timeout_s:g} s"
    )


EXPECTED = {
    "upload": (
        f"each request retried up to {TRANSFER.retries} times (`max_retries`), {waits(TRANSFER)} "
        f"(less up to {JITTER * 100:g} % jitter), or the server's `Retry-After`; then a clear error"
    ),
    "create (CreateTask)": f"{within_deadline(CREATE)} (propeller's call deadline is a few seconds)",
    "poll (GetTask)": (
        f"asked once per call, the request capped at {POLL.request_timeout_s:g} s; a fault is answered "
        "RUNNING with a message (propeller gives up after about five failed calls, so faults are never "
        f"errors), for up to {POLL_FAULT_GRACE_S / 60:g} minutes of unbroken faults; then the task fails"
    ),
    "cancel (DeleteTask, on abort; Ctrl-C locally)": within_deadline(CANCEL),
    "download": (
        "each request retried as for upload; a download cut mid-stream or short of the file's `bytes` "
        "starts again into a temporary file, with the same retries and waits"
    ),
}


RELIABILITY = ROOT / "docs" / "reliability.md"
DEPLOYING = ROOT / "docs" / "deploying.md"


def reliability_table() -> dict[str, str]:
    page = RELIABILITY.read_text()
    assert page.startswith("# Reliability\n"), RELIABILITY
    section = page.split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| ") and " | " in line]
    return {cells[0].lstrip("| "): cells[1] for cells in rows[1:]}


def test_the_reliability_table_describes_the_retry_policies() -> None:
    table = reliability_table()
    assert sorted(table) == sorted(EXPECTED)
    for step, cell in EXPECTED.items():
        assert table[step] == cell, f"docs/reliability.md, row {step!r}: write\n{cell}"


def test_the_policies_in_use_are_sound() -> None:
    assert TRANSFER.by_sdk
    assert TRANSFER.retries == DEFAULT_MAX_RETRIES
    for policy in (CREATE, CANCEL, POLL):
        # The connector's calls leave the SDK no retries: their deadlines are the connector's to keep.
        assert not policy.by_sdk
        assert policy.sdk_max_retries == 0
        assert policy.request_timeout_s is not None
    for policy in (CREATE, CANCEL):
        assert policy.deadline_s is not None
        assert policy.request_timeout_s <= policy.deadline_s


def test_the_sdk_retries_uploads_and_downloads_on_the_transfer_schedule() -> None:
    # The SDK applies TRANSFER to each request with its own backoff; the policy states that backoff,
    # so the download's own retries (of a body cut short) wait the same way.
    assert (TRANSFER.first_wait_s, TRANSFER.max_wait_s) == (
        sdk_constants.INITIAL_RETRY_DELAY,
        sdk_constants.MAX_RETRY_DELAY,
    )


def test_the_deployment_page_states_the_connector_deadline() -> None:
    page = " ".join(DEPLOYING.read_text().split())
    assert f"CreateTask finishes within {CREATE.deadline_s:g} s" in page
    assert f"every API request is capped at {CREATE.request_timeout_s:g} s" in page
