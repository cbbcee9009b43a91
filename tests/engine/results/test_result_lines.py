"""The fast readers of result lines (msgspec, only the fields that decide) give the standard library's verdicts."""

from __future__ import annotations

import pytest

from openai_batch_jobs.inputs.request_keys import request_key
from openai_batch_jobs.json_lines import decode_json
from openai_batch_jobs.results.result_lines import (
    LineKind,
    answers_of,
    error_of,
    judge_result_line,
    read_result_line,
)

LINES = [
    b'{"custom_id":"a","response":{"status_code":200,"body":{"x":1}},"error":null}\n',
    b'{"custom_id":"a","response":{"status_code":200,"body":{"error":{"code":"x"}}},"error":null}',
    b'{"custom_id":"a","response":{"status_code":429,"body":{"error":{"code":"rate"}}},"error":null}',
    b'{"custom_id":"a","response":{"status_code":400,"body":"oops"},"error":null}',
    b'{"custom_id":"a","response":null,"error":{"code":"batch_expired","message":"m"}}',
    b'{"custom_id":"a","response":null,"error":{"code":"other"}}',
    b'{"custom_id":"a","response":{"status_code":true},"error":null}',
    b'{"custom_id":"a","response":{"status_code":200.0},"error":null}',
    b'{"custom_id":"a","response":{"status_code":503},"error":"str"}',
    b'{"custom_id":"a","response":{"status_code":200},"error":"str"}',
    b'{"custom_id":"a","response":"x"}',
    b'{"custom_id":5}',
    b'{"custom_id":"a","response":{"status_code":200},"x":NaN}',
    b'{"custom_id":"a","resp',
    b"[1,2]",
    b"<html>",
    b'{"custom_id":"\xff"}',
    b'{"custom_id":"a","response":{"status_code":200,"body":{"skipped":"\xff"}},"error":null}',
    b'{"custom_id":"a","response":{"status_code":200,"body":{"error":null}}}',
    b'{"custom_id":"a","response":{"status_code":500,"body":null}}',
    b'{"custom_id":"a"}',
    b'{"custom_id":"a","response":{"status_code":299,"body":{"error":"a string"}},"error":null}',
    b'{"custom_id":"a","response":{"status_code":300},"error":null}',
    b'{"custom_id":"a","response":{"status_code":204,"body":{"error":[{"code":"x"}]}}}',
    b'{"custom_id":"a","response":{"status_code":200,"body":{"error":{}}},"error":null}',
    b'{"custom_id":"a","response":{"status_code":200},"error":{"code":"x"}}',
    b'{"custom_id":"a","response":{"status_code":200},"error":false}',
    b'{"custom_id":"a","response":{"status_code":200,"body":[1]}}',
    b'{"custom_id":"a","response":{"status_code":200,"status_code":500}}',
    b'{"custom_id":"a","error":5,"response":{"status_code":200},"error":null}',
]


@pytest.mark.parametrize("raw", LINES)
def test_judging_a_line_agrees_with_reading_it_whole(raw: bytes) -> None:
    judged, read = judge_result_line(raw), read_result_line(raw)
    assert (judged.custom_id, judged.kind, judged.problem) == (read.custom_id, read.kind, read.problem)


@pytest.mark.parametrize("raw", LINES)
def test_a_block_is_all_answers_only_when_each_line_is_judged_an_answer(raw: bytes) -> None:
    answer = b'{"custom_id":"b","response":{"status_code":200,"body":{"x":1}},"error":null}\n'
    ids = answers_of(answer + raw.rstrip(b"\n") + b"\n" + answer)
    judged = judge_result_line(raw)
    if judged.kind is not LineKind.SUCCEEDED:
        assert ids is None
    elif ids is not None:
        assert ids == ["b", judged.custom_id, "b"]


def test_plain_answers_are_read_a_block_at_a_time() -> None:
    answers = [LINES[i].rstrip(b"\n") + b"\n" for i in (0, 18, 21, 23)]
    assert all(judge_result_line(raw).kind is LineKind.SUCCEEDED for raw in answers)
    assert answers_of(b"".join(answers)) == ["a"] * len(answers)


def test_answers_and_failures_are_told_apart() -> None:
    kinds = [read_result_line(raw).kind for raw in LINES[:6]]
    assert kinds == [
        LineKind.SUCCEEDED,
        LineKind.PERMANENT,  # a 200 whose body carries an error
        LineKind.TRANSIENT,
        LineKind.PERMANENT,
        LineKind.TRANSIENT,  # batch_expired
        LineKind.PERMANENT,
    ]
    record = decode_json(LINES[1])
    assert error_of(record) == (200, "x", "no error details given")


def test_json_only_the_standard_library_reads_is_still_read() -> None:
    assert decode_json(b'{"a": NaN}')["a"] != decode_json(b'{"a": NaN}')["a"]  # NaN, as json.loads gives it
    with pytest.raises(ValueError, match="Expecting value"):
        decode_json(b"<html>")
    assert request_key(b'{"custom_id": "x", "body": {"model": "m"}, "v": NaN}') == ("x", "m")
    assert [request_key(raw)[0] for raw in (b"[1]", b"nope", b'{"custom_id": 3}', b"{}")] == [
        None,
        None,
        3,
        None,
    ]
