"""The request count on result lines of every shape: the fast decoder and the standard library agree."""

from __future__ import annotations

from pathlib import Path

from openai_batch_jobs.results.reconcile import RequestTally, counted_requests, reconcile
from tests.files.requests import write_lines


def ok(custom_id: str, status: int = 200) -> str:
    return (
        f'{{"id": "batch_req_1", "custom_id": "{custom_id}", "response": {{"status_code": {status}, '
        f'"body": {{"choices": [{{"message": {{"content": "a \\"custom_id\\": \\"x\\""}}}}]}}}}, "error": null}}'
    )


def test_every_line_shape_counts_as_before(tmp_path: Path) -> None:
    output = write_lines(
        tmp_path / "output.jsonl",
        [
            ok("a"),
            ok("b", status=404),  # a non-2xx response in the output file is a failure
            '{"custom_id": "c", "response": [200], "error": null}',  # response not an object
            '{"custom_id": "d", "response": {"status_code": 200}, "error": null, "x": NaN}',  # stdlib-only JSON
            '{"custom_id": "e", "response": {"status_code": true}, "error": null}',  # a bool is no status
            '{"custom_id": "f", "response": {"status_code": 200}, "error": {"code": "x"}}',
            '{"error": null, "response": {"status_code": 201}, "custom_id": "g"}',  # any key order
            "[1, 2]",  # not an object: skipped
            '{"custom_id": "h", "response": ',  # not JSON: skipped
            "   ",  # blank: skipped
        ],
    )
    errors = write_lines(tmp_path / "errors.jsonl", ['{"custom_id": "i", "response": null, "error": {}}'])
    with open(output, "ab") as f:  # a custom_id that is not UTF-8: skipped
        f.write(b'{"custom_id": "\xff", "response": {"status_code": 200}, "error": null}\n')
    tally = RequestTally()
    tally.add_output_file(str(output))
    tally.add_error_file(str(errors))
    assert (tally.succeeded, tally.failed) == (3, 5)
    assert tally.seen_ids() == {"a", "b", "c", "d", "e", "f", "g", "i"}
    assert counted_requests({"request_counts": {"total": 8}}, tally) is not None
    assert counted_requests({"request_counts": {"total": 9}}, tally) is None
    assert counted_requests({"request_counts": None}, tally) is None
    assert counted_requests({}, tally) is None

    inputs = write_lines(
        tmp_path / "in.jsonl",
        [*({"custom_id": i} for i in "abcdefghi"), {"custom_id": 7}, '{"custom_id": "j", "x": NaN}'],
    )
    outcome = reconcile(str(inputs), tally)
    assert (outcome.requests, outcome.missing) == (10, ["h", "j"])
