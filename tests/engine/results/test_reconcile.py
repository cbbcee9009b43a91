"""The single batch's request count, on result lines of every shape: the rounds' rule, line by line."""

from __future__ import annotations

from pathlib import Path

from openai_batch_jobs.results.counts import RequestCounts, missing_report
from openai_batch_jobs.results.reconcile import RequestTally, counted_requests, reconcile
from tests.files.requests import write_lines

COMPLETED = {"id": "batch_1", "status": "completed"}


def ok(custom_id: str, status: int = 200) -> str:
    return (
        f'{{"id": "batch_req_1", "custom_id": "{custom_id}", "response": {{"status_code": {status}, '
        f'"body": {{"choices": [{{"message": {{"content": "a \\"custom_id\\": \\"x\\""}}}}]}}}}, "error": null}}'
    )


def tally_of(*files: Path) -> RequestTally:
    tally = RequestTally()
    for path in files:
        tally.add_file(str(path), path.name)
    return tally


def test_every_line_shape_is_judged_by_the_rounds_rule(tmp_path: Path) -> None:
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
            '{"custom_id": "k", "response": {"status_code": 200, "body": {"error": {"code": "x"}}}}',
            "   ",  # blank: skipped
        ],
    )
    errors = write_lines(tmp_path / "errors.jsonl", ['{"custom_id": "i", "response": null, "error": {}}'])
    tally = tally_of(output, errors)
    # A 2xx line whose body carries an error (k) is a failure, as in the rounds.
    assert (tally.succeeded, tally.failed, tally.unnamed) == (3, 6, 0)
    assert counted_requests({"request_counts": {"total": 9}}, tally) == RequestCounts(
        requests=9, succeeded=3, failed=6
    )
    assert counted_requests({"request_counts": {"total": 10}}, tally) is None
    assert counted_requests({"request_counts": None}, tally) is None
    assert counted_requests({}, tally) is None


def test_unreadable_lines_send_the_count_to_the_input_file(tmp_path: Path) -> None:
    output = write_lines(tmp_path / "output.jsonl", [ok("a"), "[1, 2]", '{"custom_id": "h", "response": '])
    with open(output, "ab") as f:  # a custom_id that is not UTF-8: a line that names no request
        f.write(b'{"custom_id": "\xff", "response": {"status_code": 200}, "error": null}\n')
    tally = tally_of(output)
    assert (tally.succeeded, tally.failed, tally.unnamed) == (1, 1, 2)  # h is cut short: failed
    # Three lines name two requests: whatever the batch's count says, the input decides.
    assert counted_requests({"request_counts": {"total": 3}}, tally) is None

    inputs = write_lines(tmp_path / "in.jsonl", [{"custom_id": i} for i in "ahj"])
    # j has no line, but lines that name no request may have been its: failed, not missing.
    assert reconcile(str(inputs), tally, COMPLETED) == RequestCounts(requests=3, succeeded=1, failed=2)


def test_a_repeated_answer_counts_once_and_the_missing_are_named_in_input_order(tmp_path: Path) -> None:
    output = write_lines(tmp_path / "output.jsonl", [ok("a"), ok("b", status=500), ok("b"), ok("a")])
    tally = tally_of(output)
    assert counted_requests({"request_counts": {"total": 4}}, tally) is None  # a custom_id repeats

    inputs = write_lines(
        tmp_path / "in.jsonl",
        [*({"custom_id": i} for i in "abcdefghi"), {"custom_id": 7}, '{"custom_id": "j", "x": NaN}'],
    )
    counts = reconcile(str(inputs), tally, COMPLETED)
    assert (counts.requests, counts.succeeded, counts.failed, counts.missing) == (10, 2, 8, 8)
    assert counts.missing_named == ["c", "d", "e", "f", "g"]
    assert missing_report(counts, "Batch b") == (
        "Batch b: 8 of 10 requests are in neither the output nor the error file: "
        "'c', 'd', 'e', 'f', 'g' and 3 more"
    )
