"""The keys files the validating split writes (issue 27): each part's requests' custom_ids and models,
in order, exactly as `read_requests` reads them from the part itself; none left for a refused file."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from openai_batch_jobs.errors import InvalidRequestFile
from openai_batch_jobs.inputs.request_keys import key_line, read_requests
from openai_batch_jobs.inputs.split import PartLimits, part_file, plan_parts
from tests.engine.inputs.test_chat_blocks import LINES, usual_request, write
from tests.support.batch_input_cases import chat_request


def keys_of_part(path: str) -> bytes:
    return b"".join(key_line(custom_id, model) for _, custom_id, model in read_requests(path))


def mixed_requests(rng: random.Random) -> list[dict[str, Any]]:
    """Usual chat requests (taken a block at a time) amid lines the check reads one by one: ids that
    need escaping in JSON, a request of another shape."""
    requests = [usual_request(rng, i) for i in range(LINES)]
    for index in rng.sample(range(LINES), 60):
        requests[index]["custom_id"] = f'id "{index}" \\ é\u2028'
    for index in rng.sample(range(LINES), 30):
        requests[index] = chat_request(f"odd-{index}", body={"model": "gpt-4o-mini", "messages": "hi"})
    return requests


@pytest.mark.parametrize("limits", [PartLimits(), PartLimits(requests=700), PartLimits(bytes=50_000)])
def test_each_parts_keys_file_holds_its_requests_keys(tmp_path: Path, limits: PartLimits) -> None:
    rng = random.Random(limits.requests + limits.bytes)
    path = tmp_path / "requests.jsonl"
    write(path, mixed_requests(rng), rng)
    keys = tmp_path / "keys"
    keys.mkdir()

    plan = plan_parts(str(path), limits, keys_directory=str(keys))

    assert len(plan.keys) == len(plan.parts) > 0
    for part, keys_path in zip(plan.parts, plan.keys, strict=True):
        with part_file(plan, part, str(tmp_path)) as requests:
            expected = keys_of_part(requests)
        assert Path(keys_path).read_bytes() == expected
        assert len(expected.splitlines()) == part.requests
    read_back = [
        (custom_id, model) for keys_path in plan.keys for _, custom_id, model in read_requests(keys_path)
    ]
    assert read_back == [
        (r["custom_id"], r["body"]["model"]) for r in map(json.loads, path.read_bytes().splitlines())
    ]


def test_a_refused_file_leaves_no_keys_file(tmp_path: Path) -> None:
    rng = random.Random(1)
    requests = [usual_request(rng, i) for i in range(LINES)]
    requests[2000]["custom_id"] = "request-3"
    path = tmp_path / "requests.jsonl"
    write(path, requests, rng)
    keys = tmp_path / "keys"
    keys.mkdir()

    with pytest.raises(InvalidRequestFile):
        plan_parts(str(path), PartLimits(requests=700), keys_directory=str(keys))
    assert list(keys.iterdir()) == []


def test_no_keys_files_unless_asked(tmp_path: Path) -> None:
    rng = random.Random(2)
    path = tmp_path / "requests.jsonl"
    write(path, [usual_request(rng, i) for i in range(10)], rng)
    assert plan_parts(str(path)).keys == []
