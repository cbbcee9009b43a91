"""Files of usual chat requests, which the validation pass takes a run of lines at a time (lines of
other shapes, amid them, checked one by one): the same estimate, parts and problems (each naming its
line, in line order) as each line checked by itself."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from openai_batch_jobs.errors import InvalidRequestFile
from openai_batch_jobs.inputs.estimate import TokenTotals, request_tokens
from openai_batch_jobs.inputs.split import PartLimits, plan_parts
from openai_batch_jobs.inputs.validation import validate_request_file
from tests.support.batch_input_cases import CHAT, chat_request

# Enough lines for many blocks of the pass (about 128 KiB each).
LINES = 3000
TEXTS = ["hello", "", "héllo wörld", "日本語のテキスト", "😀 x", "a\tb\nc", "x" * 700]


def usual_request(rng: random.Random, index: int) -> dict[str, Any]:
    """A chat request of the usual shape, varied in everything the estimate reads."""
    messages = [
        {"role": "system", "content": rng.choice(TEXTS)},
        {"role": "user", "content": rng.choice(TEXTS)},
    ]
    if rng.random() < 0.1:
        messages[0]["name"] = rng.choice(["bob", "", "zoë"])
    if rng.random() < 0.1:  # text parts (joined with spaces), an image's part (no text), no content
        messages[1]["content"] = rng.choice(
            [
                [
                    {"type": "text", "text": rng.choice(TEXTS)},
                    {"type": "image_url", "image_url": {"url": "x"}},
                ],
                [],
                None,
            ]
        )
    if rng.random() < 0.05:
        messages.append({"role": "assistant", "content": None, "tool_calls": [{"id": "call-1"}]})
    if rng.random() < 0.02:  # a shape left to the line-by-line check, amid the others
        messages[1]["name"] = 5
    body: dict[str, Any] = {"model": "gpt-4o-mini", "messages": messages}
    for field, values in (
        ("max_tokens", [None, 0, 64]),
        ("max_completion_tokens", [None, 0, 5]),
        ("n", [None, 0, 2]),
        ("stream", [None, False]),
    ):
        if rng.random() < 0.2:
            body[field] = rng.choice(values)
    return chat_request(f"request-{index}", body=body)


def write(path: Path, requests: list[dict[str, Any]], rng: random.Random) -> list[bytes]:
    lines = [json.dumps(r, ensure_ascii=rng.random() < 0.5).encode() + b"\n" for r in requests]
    path.write_bytes(b"".join(lines))
    return lines


def totals(lines: list[bytes]) -> TokenTotals:
    """The estimate of each line by itself (its body read by json.loads), summed."""
    summed = TokenTotals()
    for line in lines:
        summed.add(request_tokens(CHAT, json.loads(line)["body"]))
    return summed


@pytest.mark.parametrize("part_requests", [50_000, 700, 1])
def test_the_estimate_and_the_parts_are_each_lines_own(tmp_path: Path, part_requests: int) -> None:
    rng = random.Random(part_requests)
    path = tmp_path / "requests.jsonl"
    lines = write(path, [usual_request(rng, i) for i in range(LINES)], rng)

    plan = plan_parts(str(path), PartLimits(requests=part_requests))

    assert plan.summary.tokens == totals(lines)
    assert validate_request_file(str(path)).tokens == totals(lines)
    firsts = range(0, LINES, part_requests)
    assert [(p.first_line, p.requests) for p in plan.parts] == [
        (first + 1, min(part_requests, LINES - first)) for first in firsts
    ]
    assert [p.tokens for p in plan.parts] == [
        totals(lines[first : first + part_requests]) for first in firsts
    ]
    assert [p.end for p in plan.parts][-1] == path.stat().st_size


def test_parts_cut_by_bytes_inside_a_block_end_where_the_next_line_would_pass_the_limit(
    tmp_path: Path,
) -> None:
    rng = random.Random(7)
    path = tmp_path / "requests.jsonl"
    lines = write(path, [usual_request(rng, i) for i in range(LINES)], rng)
    limit = 50_000

    plan = plan_parts(str(path), PartLimits(bytes=limit))

    cuts, size, count = [], 0, 0
    for number, line in enumerate(lines, 1):
        if count and size + len(line) > limit:
            cuts.append(number)
            size = count = 0
        size += len(line)
        count += 1
    assert [p.first_line for p in plan.parts] == [1, *cuts]
    assert all(p.size <= limit for p in plan.parts)
    assert sum(p.tokens.prompt for p in plan.parts) == totals(lines).prompt


def test_repeated_custom_ids_are_named_in_line_order_among_other_problems(tmp_path: Path) -> None:
    rng = random.Random(3)
    requests = [usual_request(rng, i) for i in range(LINES)]
    requests[9]["custom_id"] = "request-1"  # line 10 repeats line 2, in the same block
    requests[2499]["custom_id"] = "request-4"  # line 2500 repeats line 5, blocks later
    requests[1799]["body"]["model"] = "gpt-4o"  # line 1800: another model
    path = tmp_path / "requests.jsonl"
    lines = write(path, requests, rng)
    lines[1199] = b"\n"  # line 1200: blank
    path.write_bytes(b"".join(lines))

    for check in (plan_parts, validate_request_file):
        with pytest.raises(InvalidRequestFile) as raised:
            check(str(path))
        assert raised.value.problems == [
            "line 10: custom_id 'request-1' is already used on line 2",
            "line 1200: blank line (every line must be one JSON request)",
            "line 1800: body.model 'gpt-4o' differs from 'gpt-4o-mini' on line 1 (a batch uses one model)",
            "line 2500: custom_id 'request-4' is already used on line 5",
        ]


def test_a_line_alone_past_the_byte_limit_is_named_before_a_later_repeat_in_its_block(tmp_path: Path) -> None:
    rng = random.Random(5)
    requests = [usual_request(rng, i) for i in range(20)]
    requests[2]["body"]["messages"][1]["content"] = "x" * 5000  # line 3: alone past the limit
    requests[4]["custom_id"] = "request-0"  # line 5 repeats line 1
    path = tmp_path / "requests.jsonl"
    write(path, requests, rng)

    with pytest.raises(InvalidRequestFile) as raised:
        plan_parts(str(path), PartLimits(bytes=4000))
    assert [p.split(":")[0] for p in raised.value.problems] == ["line 3", "line 5"]
    assert "line alone" in raised.value.problems[0]
