"""The index of a part's result lines: blocks of answers indexed in one go find the same lines, with
the same line numbers, as lines indexed one at a time."""

from __future__ import annotations

import json
from pathlib import Path

from openai_batch_jobs.results.result_index import ResultIndex
from openai_batch_jobs.results.result_lines import LineKind

PADDING = "x" * 700  # 400 lines of ~800 bytes: a file of several blocks


def _answer(custom_id: str, note: str = "") -> bytes:
    body = {"pad": PADDING, "note": note}
    line = {"id": "l", "custom_id": custom_id, "response": {"status_code": 200, "body": body}, "error": None}
    return json.dumps(line).encode() + b"\n"


def _failure(custom_id: str, status: int = 503) -> bytes:
    response = {"status_code": status, "body": {"error": {"code": "x", "message": "m"}}}
    return json.dumps({"custom_id": custom_id, "response": response, "error": None}).encode() + b"\n"


def test_lines_are_found_where_they_are_across_blocks(tmp_path: Path) -> None:
    lines = [_answer(f"r{n}") for n in range(400)] + [_failure("f"), b"\n", b"<html>\n", _answer("last")[:-1]]
    path = tmp_path / "output.jsonl"
    path.write_bytes(b"".join(lines))
    with ResultIndex() as index:
        scan = index.add_file(str(path), "the output file")
        assert [index.answer(f"r{n}") for n in range(400)] == lines[:400]
        failed = index.find("f")
        assert failed is not None
        assert failed.kind is LineKind.TRANSIENT
        assert index.read_line(failed) == lines[400]
        assert index.answer("last") == lines[-1]
    assert (scan.lines, scan.orphans) == (403, 1)
    assert scan.orphan_problems == ["line 403 is not JSON: '<html>'"]


def test_an_answer_found_first_stands_whatever_later_blocks_say(tmp_path: Path) -> None:
    first = [_failure("a"), *(_answer(f"r{n}") for n in range(300)), _answer("b", "first")]
    later = [*(_answer(f"s{n}") for n in range(300)), _answer("a"), _answer("b", "again"), _failure("b")]
    output, errors = tmp_path / "output.jsonl", tmp_path / "errors.jsonl"
    output.write_bytes(b"".join(first))
    errors.write_bytes(b"".join(later))
    with ResultIndex() as index:
        index.add_file(str(output), "the output file")
        index.add_file(str(errors), "the error file")
        assert index.answer("a") == later[300]  # an answer beats the failure before it
        assert index.answer("b") == first[-1]  # and the answer found first stands
        assert index.answer("s0") == later[0]
