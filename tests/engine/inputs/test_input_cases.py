"""The pre-upload check against the shared table of what the Batch API refuses (the emulator's tests
use the same table): every refused file is refused here too, naming the line, before any upload."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from openai_batch_jobs.errors import InvalidRequestFile
from openai_batch_jobs.inputs.split import plan_parts
from openai_batch_jobs.inputs.validation import validate_request_file
from tests.support.batch_input_cases import CASES, BatchInputCase


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_one_batchs_input_is_judged_as_the_batch_api_judges_it(case: BatchInputCase, tmp_path: Path) -> None:
    path = tmp_path / "input.jsonl"
    path.write_bytes(case.data)
    if case.problem is None:
        assert validate_request_file(str(path), endpoint=case.endpoint).requests > 0
        return
    with pytest.raises(InvalidRequestFile) as raised:
        validate_request_file(str(path), endpoint=case.endpoint)
    message = str(raised.value)
    assert case.problem.keyword.lower() in message.lower()
    if case.problem.line is not None:
        assert re.search(rf"line {case.problem.line}\b", message), message


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_splitting_refuses_the_same_files_except_what_it_splits(case: BatchInputCase, tmp_path: Path) -> None:
    """A job is cut into parts where one batch's limits would be passed, so too many embedding
    inputs make another part instead of an error; everything else is refused as above."""
    path = tmp_path / "input.jsonl"
    path.write_bytes(case.data)
    if case.problem is None or case.problem.code == "too_many_tasks":
        plan = plan_parts(str(path), endpoint=case.endpoint)
        assert len(plan.parts) == (1 if case.problem is None else 2)
        return
    with pytest.raises(InvalidRequestFile) as raised:
        plan_parts(str(path), endpoint=case.endpoint)
    assert case.problem.keyword.lower() in str(raised.value).lower()
