"""The readers that take a block of lines in one call agree, line for line, with the one-line readers
a round falls back to: request keys (`keys_of`, `key_lines`) and answers with attempts added."""

from __future__ import annotations

from pathlib import Path

import pytest

from openai_batch_jobs.inputs.request_keys import key_line, key_lines, keys_of, read_requests
from openai_batch_jobs.results.result_lines import lines_with_attempts, with_attempts

REQUESTS = [
    b'{"custom_id":"a","body":{"model":"m","messages":[]}}\n',
    b'{"custom_id":"b"}\n',
    b'{"custom_id":"c","body":null}\n',
    b'{"custom_id":"d","body":{"model":null}}\n',
    b'{"custom_id":"e","body":{"model":"\xc3\xa9"}}\n',
    b'{"custom_id":"f","body":{"model":5}}\n',
    b'{"custom_id":"g","body":"x"}\n',
    b'{"custom_id":7}\n',
    b'{"custom_id":"h","body":{"model":"m"},"x":NaN}\n',
    b'{"custom_id":"\xff"}\n',
    b"\n",
]


@pytest.mark.parametrize("raw", REQUESTS)
def test_a_block_of_requests_reads_as_its_lines_do(raw: bytes, tmp_path: Path) -> None:
    block = REQUESTS[0] + raw + REQUESTS[1]
    path = tmp_path / "requests.jsonl"
    path.write_bytes(block)
    keys = keys_of(block)
    try:
        expected = [(custom_id, model) for _, custom_id, model in read_requests(str(path))]
    except Exception:
        assert keys is None
        return
    if keys is not None:
        assert list(zip(*keys, strict=True)) == expected


@pytest.mark.parametrize(
    ("ids", "models"),
    [
        (["a", "b"], ["m", "m"]),
        (["a", "b"], [None, None]),
        (["a", "b"], ["m", None]),
        (["a", "b"], ["m", "n"]),
        (['a"q', "b\\"], ["m", "m"]),
        (["\u00e9", "tab\there", "del\x7f"], ["m", "m", "m"]),
        (["x"], ['m"\u00e9']),
        ([], []),
    ],
)
def test_key_lines_are_the_key_lines_joined(ids: list[str], models: list[str | None]) -> None:
    assert key_lines(ids, models) == b"".join(map(key_line, ids, models))


@pytest.mark.parametrize(
    "block",
    [
        b'{"a":1}\n{"b":{"c":2}}\n',
        b'{"a":1}\n{"b":2}',
        b'{"a":"}\\n"}\n',
    ],
)
def test_attempts_are_added_to_a_block_as_to_each_line(block: bytes) -> None:
    lines = [raw for raw in block.split(b"\n") if raw]
    assert lines_with_attempts(block, 3) == (b"".join(with_attempts(raw, 3) for raw in lines), len(lines))


@pytest.mark.parametrize("block", [b'{"a":1}\n\n{"b":2}\n', b'{"a":1} \n', b'{"a":1}\r\n', b"\n", b"[1]\n"])
def test_a_block_with_a_line_not_ending_in_a_brace_is_left_to_the_lines(block: bytes) -> None:
    assert lines_with_attempts(block, 1) is None


def test_plain_requests_are_read_a_block_at_a_time() -> None:
    assert keys_of(b"".join(REQUESTS[:5])) == (["a", "b", "c", "d", "e"], ["m", None, None, None, "\u00e9"])


def test_requests_are_read_in_order_with_their_lines_across_blocks(tmp_path: Path) -> None:
    lines = [b'{"custom_id":"r%d","body":{"model":"m","pad":"%s"}}' % (n, b"x" * 100) for n in range(3000)]
    lines[5] += b"\r"  # a line of a file written with CRLF keeps its bytes
    path = tmp_path / "requests.jsonl"
    path.write_bytes(b"\n".join(lines[:2000]) + b"\n\n  \n" + b"\n".join(lines[2000:]))
    read = list(read_requests(str(path)))
    assert read == [(raw, f"r{n}", "m") for n, raw in enumerate(lines)]


def test_a_request_line_without_a_custom_id_is_named_by_its_line_number(tmp_path: Path) -> None:
    lines = [b'{"custom_id":"r%d","pad":"%s"}' % (n, b"x" * 100) for n in range(3000)]
    lines[2500] = b'{"pad":"no id"}'
    path = tmp_path / "requests.jsonl"
    path.write_bytes(b"\n".join(lines[:2000]) + b"\n\n" + b"\n".join(lines[2000:]) + b"\n")
    with pytest.raises(Exception, match=r"Line 2502 of the request file .* has no readable custom_id"):
        list(read_requests(str(path)))
