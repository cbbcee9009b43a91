"""Request-level retries over real emulator batches: transient failures are sent again, permanent ones
and spent attempts end in the error file, every custom_id ends in exactly one file."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import openai
import pytest

from openai_batch_emulator import Emulator
from openai_batch_jobs.results.resend import RoundPart, collect_round
from tests.support.rounds import (
    TRANSIENT_AND_PERMANENT,
    chat,
    emulator_settings,  # noqa: F401 (the fixture)
    read_jsonl,
    run_job,
    run_parts,
    write_jsonl,
)


def round_paths(folder: Path) -> dict[str, str]:
    """Where `collect_round` writes a round's files: out.jsonl, err.jsonl and resend.jsonl in ``folder``."""
    return {
        f"{kind}_path": str(folder / f"{name}.jsonl")
        for kind, name in (("output", "out"), ("error", "err"), ("resend", "resend"))
    }


def _ids(lines: list[dict[str, Any]]) -> list[str]:
    return [line["custom_id"] for line in lines]


def _error_code(line: dict[str, Any]) -> str | None:
    if line.get("error"):
        return str(line["error"]["code"])
    error = line["response"]["body"]["error"]
    return str(error.get("code") or error.get("type"))


@pytest.mark.slow
def test_ten_thousand_requests_end_with_exactly_the_permanent_failures(
    emulator: Emulator, openai_client: openai.OpenAI, tmp_path: Path
) -> None:
    # 5% transient (1% each of 429, 500, 502, 503 and a second 429 that needs two retries), 1% permanent.
    emulator.configure(fail_requests=TRANSIENT_AND_PERMANENT)
    ids = [f"req-{i:05d}" for i in range(10_000)]
    parts = [
        write_jsonl(
            tmp_path / f"part-{n}.jsonl", (chat(c, f"question {c}") for c in ids[n * 5000 : (n + 1) * 5000])
        )
        for n in range(2)
    ]
    job = run_job(openai_client, parts, tmp_path, max_request_attempts=3)

    permanent = {c for c in ids if c.endswith("55")}
    assert len(permanent) == 100
    assert [(r.requests, r.succeeded, r.failed, r.resent) for r in job.reports] == [
        (10_000, 9_400, 100, 500),  # 5% sent again, the 1% permanent kept as final errors
        (500, 400, 0, 100),  # the "80$" ones fail a second time
        (100, 100, 0, 0),
    ]
    outputs, errors = read_jsonl(job.output), read_jsonl(job.errors)
    assert set(_ids(errors)) == permanent
    assert {_error_code(e) for e in errors} == {"invalid_request_error"}
    assert {e["attempts"] for e in errors} == {1}  # a permanent failure is not sent again
    # Every custom_id exactly once across the two files, each answer with the round that gave it.
    assert sorted(_ids(outputs) + _ids(errors)) == ids
    attempts = Counter(line["attempts"] for line in outputs)
    assert attempts == {1: 9_400, 2: 400, 3: 100}
    assert all(line["attempts"] == 3 for line in outputs if line["custom_id"].endswith("80"))
    # The answers are the API's lines, kept byte for byte apart from "attempts".
    assert outputs[0]["response"]["status_code"] == 200
    assert outputs[0]["response"]["body"]["choices"][0]["message"]["content"] == "Echo: question req-00001"


def test_a_retry_round_that_fails_again_counts_the_attempts(
    emulator: Emulator, openai_client: openai.OpenAI, tmp_path: Path
) -> None:
    emulator.configure(
        fail_requests=[
            {"custom_ids": "^always-", "status": 503},
            {"custom_ids": "^twice-", "status": 500, "attempts": 2},
            {"custom_ids": "^bad-", "status": 404},
        ]
    )
    ids = ["ok-1", "always-1", "twice-1", "bad-1", "ok-2"]
    part = write_jsonl(tmp_path / "part.jsonl", (chat(c) for c in ids))
    job = run_job(openai_client, [part], tmp_path, max_request_attempts=3)

    assert [(r.succeeded, r.failed, r.resent) for r in job.reports] == [(2, 1, 2), (0, 0, 2), (1, 1, 0)]
    errors = {line["custom_id"]: line for line in read_jsonl(job.errors)}
    assert {c: e["attempts"] for c, e in errors.items()} == {"bad-1": 1, "always-1": 3}
    assert errors["always-1"]["response"]["status_code"] == 503  # its last error
    outputs = {line["custom_id"]: line["attempts"] for line in read_jsonl(job.output)}
    assert outputs == {"ok-1": 1, "ok-2": 1, "twice-1": 3}
    # Input order within each round, earlier rounds first.
    assert list(outputs) == ["ok-1", "ok-2", "twice-1"]


def test_one_attempt_turns_retries_off(
    emulator: Emulator, openai_client: openai.OpenAI, tmp_path: Path
) -> None:
    emulator.configure(fail_requests=[{"custom_ids": "^flaky-", "status": 429, "attempts": 1}])
    part = write_jsonl(tmp_path / "part.jsonl", (chat(c) for c in ["ok-1", "flaky-1"]))
    job = run_job(openai_client, [part], tmp_path, max_request_attempts=1)
    assert len(job.reports) == 1
    assert job.reports[0].resent == 0
    [error] = read_jsonl(job.errors)
    assert (error["custom_id"], error["attempts"], error["response"]["status_code"]) == ("flaky-1", 1, 429)
    assert (tmp_path / "round-1-retry.jsonl").read_bytes() == b""


def test_unreadable_result_lines_count_as_failed_and_lose_nothing_else(
    emulator: Emulator, openai_client: openai.OpenAI, tmp_path: Path
) -> None:
    emulator.configure(
        fail_requests=[
            {"custom_ids": "^cut-", "status": "truncated"},
            {"custom_ids": "^html-", "status": "not_json"},
        ]
    )
    ids = ["ok-1", "cut-1", "ok-2", "html-1", "ok-3"]
    part = write_jsonl(tmp_path / "part.jsonl", (chat(c) for c in ids))
    job = run_job(openai_client, [part], tmp_path, max_request_attempts=3)

    [report] = job.reports  # not sent again: the API answered them (and billed them)
    assert (report.succeeded, report.failed, report.missing, report.resent) == (3, 2, 0, 0)
    assert _ids(read_jsonl(job.output)) == ["ok-1", "ok-2", "ok-3"]
    errors = {line["custom_id"]: line for line in read_jsonl(job.errors)}
    batch_id = job.rounds[0][0]["id"]
    cut = errors["cut-1"]["error"]
    assert cut["code"] == "unreadable_result"
    assert f"line 2 of the output file of batch {batch_id}" in cut["message"]
    assert "is cut short" in cut["message"]
    # The HTML line names no request: the one request left without a readable line gets the reason.
    html = errors["html-1"]["error"]
    assert html["code"] == "unreadable_result"
    assert "line 4 is not JSON: '<html><body>502 Bad Gateway</body></html>'" in html["message"]
    assert f"batch {batch_id} (completed) has no readable result line" in html["message"]
    assert {e["attempts"] for e in errors.values()} == {1}


def test_unanswered_requests_of_a_cancelled_batch_are_sent_again(
    emulator: Emulator, openai_client: openai.OpenAI, tmp_path: Path
) -> None:
    emulator.configure(requests_per_second=0)  # held in progress: the cancel leaves everything unanswered
    ids = [f"req-{i}" for i in range(4)]
    part = write_jsonl(tmp_path / "part.jsonl", (chat(c) for c in ids))
    parts, [batch] = run_parts(openai_client, [part], tmp_path, cancel=True)
    assert batch["status"] == "cancelled"
    err, retry = tmp_path / "err.jsonl", tmp_path / "resend.jsonl"
    report = collect_round(parts, attempt=1, **round_paths(tmp_path))
    assert (report.resent, report.failed) == (4, 0)
    assert retry.read_bytes() == part.read_bytes()  # the original lines, byte for byte, in order
    # On the last attempt they are final: missing, saying why.
    last = collect_round(parts, attempt=3, **round_paths(tmp_path))
    assert (last.resent, last.failed, last.missing) == (0, 4, 4)
    errors = read_jsonl(err)
    assert _ids(errors) == ids
    assert errors[0]["error"] == {
        "code": "missing_result",
        "message": f"batch {batch['id']} was cancelled before it answered this request",
    }
    assert {e["attempts"] for e in errors} == {3}


def test_expired_batch_lines_are_transient(
    emulator: Emulator, openai_client: openai.OpenAI, tmp_path: Path
) -> None:
    emulator.configure(requests_per_second=0, completion_window_seconds=0.3)
    part = write_jsonl(tmp_path / "part.jsonl", (chat(c) for c in ["a", "b"]))
    parts, [batch] = run_parts(openai_client, [part], tmp_path)
    assert batch["status"] == "expired"
    assert {line["error"]["code"] for line in read_jsonl(parts[0].error_path)} == {"batch_expired"}
    report = collect_round(parts, attempt=2, **round_paths(tmp_path))
    assert report.resent == 2
    assert [
        json.loads(line)["custom_id"] for line in (tmp_path / "resend.jsonl").read_text().splitlines()
    ] == ["a", "b"]


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    kwargs = round_paths(tmp_path)
    with pytest.raises(ValueError, match="max_request_attempts must be at least 1"):
        collect_round([], attempt=1, max_request_attempts=0, **kwargs)
    with pytest.raises(ValueError, match="attempt must be between 1 and max_request_attempts"):
        collect_round([], attempt=4, max_request_attempts=3, **kwargs)


def test_a_changed_request_file_is_named(tmp_path: Path) -> None:
    part = tmp_path / "part.jsonl"
    part.write_text('{"custom_id": "a"}\nnot json\n')
    kwargs = round_paths(tmp_path)
    with pytest.raises(Exception, match=r"Line 2 of the request file .*part.jsonl has no readable custom_id"):
        collect_round([RoundPart(str(part), {"id": "batch_x", "status": "completed"})], attempt=1, **kwargs)


def test_a_repeated_answer_does_not_hide_a_request_no_file_answers(tmp_path: Path) -> None:
    """Three result lines for three requests, but one request answered twice and one not at all."""
    part = write_jsonl(tmp_path / "part.jsonl", (chat(c) for c in ["a", "b", "c"]))
    answer = {"status_code": 200, "request_id": "r", "body": {"choices": []}}
    output = write_jsonl(
        tmp_path / "output.jsonl",
        ({"id": f"l{n}", "custom_id": c, "response": answer, "error": None} for n, c in enumerate("aab")),
    )
    batch = {
        "id": "batch_x",
        "status": "completed",
        "request_counts": {"total": 3, "completed": 3, "failed": 0},
    }
    report = collect_round([RoundPart(str(part), batch, str(output))], attempt=3, **round_paths(tmp_path))
    assert (report.succeeded, report.failed, report.missing) == (2, 1, 1)
    assert _ids(read_jsonl(tmp_path / "out.jsonl")) == ["a", "b"]
    [missing] = read_jsonl(tmp_path / "err.jsonl")
    assert (missing["custom_id"], missing["error"]["code"]) == ("c", "missing_result")


def test_a_failure_after_megabytes_of_answers_in_order_is_sorted_like_any_other(tmp_path: Path) -> None:
    """Answers in the requests' order are sorted a block at a time; a failure found blocks later takes
    back what those blocks wrote, and the part is sorted line by line: nothing written twice."""
    ids = [f"r{n:05d}" for n in range(3000)]
    part = write_jsonl(tmp_path / "part.jsonl", (chat(c) for c in ids))
    padding = "x" * 600  # 3,000 lines of ~700 bytes: the output file is several blocks
    lines = [
        {
            "id": f"l{c}",
            "custom_id": c,
            "response": {"status_code": 200, "body": {"pad": padding}},
            "error": None,
        }
        for c in ids
    ]
    lines[-1]["response"] = {"status_code": 503, "body": {"error": {"code": "overloaded", "message": "m"}}}
    output = write_jsonl(tmp_path / "output.jsonl", lines)
    assert output.stat().st_size > 2 << 20
    out, err, retry, keys = (tmp_path / n for n in ("out.jsonl", "err.jsonl", "resend.jsonl", "keys.jsonl"))
    report = collect_round(
        [RoundPart(str(part), {"id": "batch_x", "status": "completed"}, str(output))],
        attempt=1,
        max_request_attempts=2,
        keys_path=str(keys),
        **round_paths(tmp_path),
    )
    assert (report.requests, report.succeeded, report.resent) == (3000, 2999, 1)
    answers = read_jsonl(out)
    assert _ids(answers) == ids[:-1]
    assert {a["attempts"] for a in answers} == {1}
    assert _ids(read_jsonl(retry)) == ids[-1:]
    assert not err.read_bytes()
    assert [k["custom_id"] for k in read_jsonl(keys)] == ids


def test_answers_in_order_keep_their_bytes_with_the_attempts_added(tmp_path: Path) -> None:
    ids = ["a", "b", "c"]
    part = write_jsonl(tmp_path / "part.jsonl", (chat(c) for c in ids))
    output = tmp_path / "output.jsonl"
    raw = [
        f'{{"id": "l{c}", "custom_id": "{c}", "response": {{"status_code": 200, "body": {{"x": "é"}}}}, "error": null}}'
        for c in ids
    ]
    output.write_text("\n".join(raw) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    report = collect_round(
        [RoundPart(str(part), {"id": "batch_x", "status": "completed"}, str(output))],
        attempt=2,
        max_request_attempts=3,
        **round_paths(tmp_path),
    )
    assert (report.requests, report.succeeded) == (3, 3)
    assert out.read_text(encoding="utf-8") == "".join(line[:-1] + ',"attempts":2}\n' for line in raw)
