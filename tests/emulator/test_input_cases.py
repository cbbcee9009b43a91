"""The shared table of bad (and good) request files: each fails validation as the Batch API fails it."""

from __future__ import annotations

import openai
import pytest

from openai_batch_emulator import Emulator
from tests.support.batch_input_cases import CASES, BatchInputCase

from .helpers import FINAL, fast, wait


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_request_file(emulator: Emulator, openai_client: openai.OpenAI, case: BatchInputCase) -> None:
    fast(emulator, requests_per_second=0)  # a file that passes is held in_progress, not answered
    source = openai_client.files.create(file=("requests.jsonl", case.data), purpose="batch")
    batch = openai_client.batches.create(
        input_file_id=source.id,
        endpoint=case.endpoint,  # type: ignore[arg-type]
        completion_window="24h",
    )
    validated = wait(openai_client, batch.id, ("in_progress", *FINAL))
    if case.problem is None:
        assert validated.status == "in_progress", validated.errors
        openai_client.batches.cancel(batch.id)
        return
    assert validated.status == "failed"
    assert validated.failed_at is not None
    assert validated.in_progress_at is None
    assert validated.output_file_id is validated.error_file_id is None
    assert validated.errors is not None
    assert validated.errors.object == "list"
    assert validated.errors.data is not None
    assert [(e.code, e.line) for e in validated.errors.data] == [(case.problem.code, case.problem.line)]
    assert case.problem.keyword.lower() in (validated.errors.data[0].message or "").lower()
