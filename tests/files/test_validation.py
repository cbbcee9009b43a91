"""The request-file checks, called directly: every problem named with its line, counted past 20."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flytekitplugins.openai.files import InvalidRequestFile, PartLimits, validate_request_file
from tests.files.requests import BAD_FILES, good_file, request, write_lines


def test_good_file_is_summarised(tmp_path: Path) -> None:
    path = good_file(tmp_path / "in.jsonl", n=4)
    summary = validate_request_file(str(path))
    assert (summary.requests, summary.url, summary.model) == (4, "/v1/chat/completions", "gpt-4o-mini")
    assert summary.bytes == path.stat().st_size


@pytest.mark.parametrize(
    ("lines", "phrase"), [(b[1], b[2]) for b in BAD_FILES], ids=[b[0] for b in BAD_FILES]
)
def test_each_kind_of_bad_line_is_named(tmp_path: Path, lines: list[Any], phrase: str) -> None:
    path = tmp_path / "bad.jsonl"
    if lines:
        write_lines(path, lines)
    else:
        path.write_bytes(b"")
    with pytest.raises(InvalidRequestFile) as raised:
        validate_request_file(str(path))
    assert phrase in str(raised.value)
    assert raised.value.total == 1
    assert "nothing was uploaded" in str(raised.value)


def test_first_twenty_problems_are_listed_and_all_counted(tmp_path: Path) -> None:
    lines: list[Any] = [request(i) for i in range(5)] + ["not json"] * 30 + [request(0)]
    path = write_lines(tmp_path / "bad.jsonl", lines)
    with pytest.raises(InvalidRequestFile) as raised:
        validate_request_file(str(path))
    error = raised.value
    assert error.total == 31
    assert len(error.problems) == 20
    message = str(error)
    assert "31 problems" in message
    assert "line 6: not valid JSON" in message
    assert "line 25: not valid JSON" in message
    assert "line 26:" not in message
    assert "... and 11 more" in message


def test_every_repeat_of_a_custom_id_names_its_first_line_in_line_order(tmp_path: Path) -> None:
    lines: list[Any] = [request(0), request(1, method="GET"), request(0), "", request(1), request(0)]
    with pytest.raises(InvalidRequestFile) as raised:
        validate_request_file(str(write_lines(tmp_path / "bad.jsonl", lines)))
    assert raised.value.problems == [
        "line 2: method must be 'POST', got 'GET'",
        "line 3: custom_id 'req-0' is already used on line 1",
        "line 4: blank line (every line must be one JSON request)",
        "line 5: custom_id 'req-1' is already used on line 2",
        "line 6: custom_id 'req-0' is already used on line 1",
    ]
    assert raised.value.total == 5


def test_request_limit_is_configurable(tmp_path: Path) -> None:
    path = good_file(tmp_path / "in.jsonl", n=5)
    with pytest.raises(InvalidRequestFile, match="holds 5 requests; the limit is 4"):
        validate_request_file(str(path), PartLimits(requests=4))
    assert validate_request_file(str(path), PartLimits(requests=5)).requests == 5


def test_size_limit_fails_before_reading(tmp_path: Path) -> None:
    path = good_file(tmp_path / "in.jsonl", n=5)
    size = path.stat().st_size
    with pytest.raises(
        InvalidRequestFile, match=f"the file is {size:,} bytes; the limit is {size - 1:,} bytes"
    ):
        validate_request_file(str(path), PartLimits(bytes=size - 1))


def test_moderations_may_leave_out_the_model(tmp_path: Path) -> None:
    lines = [
        {"custom_id": f"m{i}", "method": "POST", "url": "/v1/moderations", "body": {"input": "hi"}}
        for i in range(3)
    ]
    summary = validate_request_file(str(write_lines(tmp_path / "mod.jsonl", lines)))
    assert (summary.url, summary.model) == ("/v1/moderations", None)


def test_every_documented_endpoint_is_accepted(tmp_path: Path) -> None:
    for url in (
        "/v1/responses",
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/completions",
        "/v1/images/generations",
        "/v1/images/edits",
        "/v1/videos",
    ):
        path = write_lines(tmp_path / "in.jsonl", [request(0, url=url), request(1, url=url)])
        assert validate_request_file(str(path)).url == url


def test_invalid_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(json.dumps(request(0)).encode() + b"\n" + b'{"custom_id": "\xff\xfe"}\n')
    with pytest.raises(InvalidRequestFile, match="line 2: not valid UTF-8"):
        validate_request_file(str(path))


def test_invalid_utf8_deep_in_a_body_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    deep = request(1)
    deep["body"]["messages"][0]["content"] = "PLACEHOLDER"
    line = json.dumps(deep).encode().replace(b"PLACEHOLDER", b"\xff")
    path.write_bytes(json.dumps(request(0)).encode() + b"\n" + line + b"\n")
    with pytest.raises(InvalidRequestFile, match="line 2: not valid UTF-8"):
        validate_request_file(str(path))


def test_json_only_the_standard_library_reads_is_judged_as_before(tmp_path: Path) -> None:
    """NaN is outside strict JSON; json.loads has always accepted it here. (A byte order mark is
    refused since issue 12: see the shared table, tests/support/batch_input_cases.py.)"""
    path = tmp_path / "lenient.jsonl"
    lenient = request(1)
    lenient["body"]["temperature"] = float("nan")
    nan = json.dumps(lenient).encode()
    path.write_bytes(json.dumps(request(0)).encode() + b"\n" + nan + b"\n")
    assert validate_request_file(str(path)).requests == 2
