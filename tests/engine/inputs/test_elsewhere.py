"""Validation in a child process: the same plan, the same error, as `plan_parts` in the caller's."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from openai_batch_jobs.errors import InvalidRequestFile
from openai_batch_jobs.inputs import elsewhere
from openai_batch_jobs.inputs.elsewhere import PlanElsewhere
from openai_batch_jobs.inputs.limits import PartLimits
from openai_batch_jobs.inputs.split import plan_parts

ENDPOINT = "/v1/chat/completions"
LIMITS = PartLimits(requests=7_000)


def chat_file(path: Path, requests: int, bad_line: int | None = None) -> str:
    with open(path, "w") as sink:
        for i in range(requests):
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"say {i} " * 60}]}
            line = {"custom_id": f"r-{i}", "method": "POST", "url": ENDPOINT, "body": body}
            if i == bad_line:
                line["custom_id"] = "r-0"
            sink.write(json.dumps(line) + "\n")
    assert path.stat().st_size >= elsewhere.MIN_BYTES
    return str(path)


def children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


@pytest.mark.skipif(elsewhere._cores() < 2, reason="a child is started only with a second core")
def test_a_child_gives_the_callers_plan(tmp_path: Path) -> None:
    path = chat_file(tmp_path / "requests.jsonl", 12_000)
    before = children_cpu()
    with PlanElsewhere(path, LIMITS, ENDPOINT, alongside=True, sha256=True) as planning:
        plan = planning.result()
    assert children_cpu() > before  # the plan came from a child, which has been waited for
    assert planning.sha256() == hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert plan == plan_parts(path, LIMITS, ENDPOINT)
    assert [part.requests for part in plan.parts] == [7_000, 5_000]


def test_a_refused_file_raises_the_same_error_from_a_child(tmp_path: Path) -> None:
    path = chat_file(tmp_path / "requests.jsonl", 12_000, bad_line=9_000)
    with pytest.raises(InvalidRequestFile) as here:
        plan_parts(path, LIMITS, ENDPOINT)
    with (
        pytest.raises(InvalidRequestFile) as there,
        PlanElsewhere(path, LIMITS, ENDPOINT, alongside=True) as planning,
    ):
        planning.result()
    assert str(there.value) == str(here.value)
    assert "line 9001: custom_id 'r-0' is already used on line 1" in str(there.value)


def test_without_a_child_the_plan_is_made_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = chat_file(tmp_path / "requests.jsonl", 12_000)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    with PlanElsewhere(path, LIMITS, ENDPOINT, alongside=True) as planning:
        assert planning.result() == plan_parts(path, LIMITS, ENDPOINT)
    with PlanElsewhere(path, LIMITS, ENDPOINT, alongside=False, sha256=True) as planning:
        assert planning.result() == plan_parts(path, LIMITS, ENDPOINT)
        assert planning.sha256() == hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.skipif(elsewhere._cores() < 2, reason="a child is started only with a second core")
def test_a_child_writes_the_callers_keys_files(tmp_path: Path) -> None:
    path = chat_file(tmp_path / "requests.jsonl", 12_000)
    there, here = tmp_path / "there", tmp_path / "here"
    there.mkdir()
    here.mkdir()
    with PlanElsewhere(path, LIMITS, ENDPOINT, alongside=True, keys_directory=str(there)) as planning:
        plan = planning.result()
    expected = plan_parts(path, LIMITS, ENDPOINT, str(here))
    assert [Path(p).parent for p in plan.keys] == [there, there]
    assert [Path(p).read_bytes() for p in plan.keys] == [Path(p).read_bytes() for p in expected.keys]
    assert plan.parts == expected.parts
