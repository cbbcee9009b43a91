"""The results table from real emulator batches: one row per request in input order, read back with pandas
directly and through Flyte (a BatchResult field a downstream task opens in one line)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pandas as pd
import pyarrow.parquet as pq
import pytest
from flytekit import task, workflow
from flytekit.core.context_manager import FlyteContextManager
from flytekit.core.type_engine import TypeEngine
from flytekit.types.file import JSONLFile

from flytekitplugins.openai.files import BatchResult
from openai_batch_emulator import Emulator
from openai_batch_jobs.errors import BatchResultError
from openai_batch_jobs.report.job_report import JobResults, summarize_job
from openai_batch_jobs.report.results_table import COLUMNS, write_results_table
from openai_batch_jobs.report.summary import SummaryBuilder
from tests.support.rounds import (
    chat,
    embedding,
    emulator_settings,  # noqa: F401 (the fixture)
    read_jsonl,
    run_job,
    write_jsonl,
)

IDS = ["ok-0", "flaky-0", "bad-0", "cut-0", "ok-1", "long-0", "flaky-1", "ok-2"]


@pytest.fixture
def job(emulator: Emulator, openai_client: openai.OpenAI, tmp_path: Path) -> Any:
    emulator.configure(
        fail_requests=[
            {"custom_ids": "^flaky-", "status": 429, "attempts": 1},
            {"custom_ids": "^bad-", "status": 400},
            {"custom_ids": "^cut-", "status": "truncated"},
        ]
    )
    requests = [chat(c, f"say {c}", max_tokens=3 if c == "long-0" else 50) for c in IDS]
    parts = [
        write_jsonl(tmp_path / "part-1.jsonl", requests[:4]),
        write_jsonl(tmp_path / "part-2.jsonl", requests[4:]),
    ]
    ran = run_job(openai_client, parts, tmp_path, max_request_attempts=3)
    return parts, ran


def summarized(job: Any, table_directory: Path, **kwargs: Any) -> JobResults:
    """The job's results summarized, its table written in ``table_directory``."""
    parts, ran = job
    return summarize_job(
        [str(p) for p in parts],
        str(ran.output),
        str(ran.errors),
        table_directory=str(table_directory),
        starts=ran.starts,
        **kwargs,
    )


def test_one_row_per_request_in_input_order(job: Any, tmp_path: Path) -> None:
    _, ran = job
    results = summarized(job, tmp_path / "table", rounds=ran.rounds)
    assert results.table.rows == len(IDS)
    df = pd.read_parquet(results.table.directory)
    assert list(df.columns) == list(COLUMNS)
    assert list(df.custom_id) == IDS
    rows = df.set_index("custom_id")
    assert rows.status.to_dict() == {
        "ok-0": "succeeded",
        "flaky-0": "succeeded",
        "bad-0": "failed",
        "cut-0": "failed",
        "ok-1": "succeeded",
        "long-0": "succeeded",
        "flaky-1": "succeeded",
        "ok-2": "succeeded",
    }
    assert rows.attempts.to_dict() == {c: (2 if c.startswith("flaky") else 1) for c in IDS}
    assert rows.loc["ok-0", "text"] == "Echo: say ok-0"
    assert rows.loc["ok-0", "finish_reason"] == "stop"
    assert rows.loc["long-0", "finish_reason"] == "length"
    assert rows.loc["ok-0", "http_status"] == 200
    assert rows.loc["ok-0", "model"] == "gpt-4o-mini"
    assert rows.loc["ok-0", "outputs"] == 1
    assert (rows.loc["bad-0", "error_code"], rows.loc["bad-0", "http_status"]) == (
        "invalid_request_error",
        400,
    )
    assert "fail_requests" in rows.loc["bad-0", "error_message"]
    assert rows.loc["cut-0", "error_code"] == "unreadable_result"
    assert "is cut short" in rows.loc["cut-0", "error_message"]
    assert pd.isna(rows.loc["bad-0", "text"])
    # Tokens are the answers' own usage, which the batches sum up as well.
    answers = {line["custom_id"]: line["response"]["body"]["usage"] for line in read_jsonl(ran.output)}
    assert rows.loc["ok-0", "prompt_tokens"] == answers["ok-0"]["prompt_tokens"]
    assert rows.loc["ok-0", "completion_tokens"] == answers["ok-0"]["completion_tokens"]
    summary = results.summary
    assert (summary["requests"], summary["succeeded"], summary["failed"], summary["missing"]) == (8, 6, 2, 0)
    assert summary["resent"] == 2
    # Every batch reported its usage: the summary's tokens are the server's (failed attempts included),
    # the table's the answers' own.
    assert summary["tokens"]["source"] == "reported"
    batches = [batch for batches in ran.rounds for batch in batches]
    assert summary["tokens"]["prompt"] == sum(b["usage"]["input_tokens"] for b in batches)
    assert summary["tokens"]["completion"] == sum(b["usage"]["output_tokens"] for b in batches)
    assert summary["tokens"]["prompt"] >= int(df.prompt_tokens.sum())


def test_read_downstream_through_flyte(job: Any, tmp_path: Path) -> None:
    _, ran = job
    results = summarized(job, tmp_path / "t")
    output, errors, directory = str(ran.output), str(ran.errors), results.table.directory

    @task
    def produce() -> BatchResult:
        from flytekitplugins.openai.files.outputs.report import table_dataset
        from openai_batch_jobs.report.results_table import ResultsTable

        table = table_dataset(ResultsTable(directory, len(IDS)))
        return BatchResult(output_file=JSONLFile(output), error_file=JSONLFile(errors), table=table)

    @task
    def consume(result: BatchResult) -> list[str]:
        assert result.table is not None
        df = result.table.open(pd.DataFrame).all()  # the one line a user writes
        return [f"{c}:{s}" for c, s in zip(df.custom_id, df.status, strict=True)]

    @workflow
    def wf() -> list[str]:
        return consume(result=produce())

    assert wf() == [f"{c}:{'failed' if c in ('bad-0', 'cut-0') else 'succeeded'}" for c in IDS]


def test_batch_result_round_trips_with_and_without_a_table(tmp_path: Path) -> None:
    ctx = FlyteContextManager.current_context()
    literal_type = TypeEngine.to_literal_type(BatchResult)
    # The old fields keep their types; the new one is optional.
    assert BatchResult().table is None
    for value in (BatchResult(), BatchResult(output_file=JSONLFile(str(tmp_path / "o.jsonl")))):
        (tmp_path / "o.jsonl").write_text("{}\n")
        literal = TypeEngine.to_literal(ctx, value, BatchResult, literal_type)
        back = TypeEngine.to_python_value(ctx, literal, BatchResult)
        assert back.table is None
        assert (back.output_file is None) == (value.output_file is None)
    assert BatchResult.from_json(BatchResult().to_json()) == BatchResult()


def test_row_groups_keep_memory_bounded(
    emulator: Emulator, openai_client: openai.OpenAI, tmp_path: Path
) -> None:
    ids = [f"r-{i:04d}" for i in range(1000)]
    part = write_jsonl(tmp_path / "part.jsonl", (chat(c) for c in ids))
    ran = run_job(openai_client, [part], tmp_path)
    table = write_results_table(
        [str(part)], str(ran.output), None, str(tmp_path / "t"), starts=ran.starts, row_group_rows=100
    )
    metadata = pq.ParquetFile(tmp_path / "t" / "00000").metadata
    assert (metadata.num_rows, metadata.num_row_groups) == (1000, 10)
    assert table.rows == 1000
    assert list(pd.read_parquet(table.directory).custom_id) == ids


@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_embeddings(emulator: Emulator, openai_client: openai.OpenAI, tmp_path: Path, encoding: str) -> None:
    requests = [
        embedding("e-1", "hello", encoding_format=encoding),
        embedding("e-2", "world", encoding_format=encoding, dimensions=8),
    ]
    part = write_jsonl(tmp_path / "part.jsonl", requests)
    ran = run_job(openai_client, [part], tmp_path, endpoint="/v1/embeddings")
    table = write_results_table(
        [str(part)], str(ran.output), str(ran.errors), str(tmp_path / "t"), starts=ran.starts
    )
    df = pd.read_parquet(table.directory).set_index("custom_id")
    assert len(df.loc["e-1", "embedding"]) == 1536
    assert len(df.loc["e-2", "embedding"]) == 8
    first = next(line for line in read_jsonl(ran.output) if line["custom_id"] == "e-2")
    raw = first["response"]["body"]["data"][0]["embedding"]
    if encoding == "float":
        assert list(df.loc["e-2", "embedding"]) == pytest.approx(raw, rel=1e-6)
    assert df.loc["e-1", "prompt_tokens"] > 0
    assert pd.isna(df.loc["e-1", "completion_tokens"])
    assert pd.isna(df.loc["e-1", "text"])


def test_a_request_in_no_file_is_missing(tmp_path: Path) -> None:
    part = write_jsonl(tmp_path / "part.jsonl", [chat("a"), chat("b")])
    table = write_results_table([str(part)], None, None, str(tmp_path / "t"))
    df = pd.read_parquet(table.directory)
    assert list(df.status) == ["missing", "missing"]
    assert list(df.error_code) == ["missing_result", "missing_result"]


def test_result_files_out_of_request_order_are_refused(
    emulator: Emulator, openai_client: openai.OpenAI, tmp_path: Path
) -> None:
    """The table merges each round's lines along the requests; a file changed since then is an error, not rows."""
    part = write_jsonl(tmp_path / "part.jsonl", (chat(c) for c in ["a", "b", "c"]))
    ran = run_job(openai_client, [part], tmp_path)
    assert ran.output is not None
    first, second, third = ran.output.read_bytes().splitlines(keepends=True)
    ran.output.write_bytes(second + first + third)
    with pytest.raises(BatchResultError, match="has a line for request 'a' out of the order"):
        write_results_table([str(part)], str(ran.output), None, str(tmp_path / "t"), starts=ran.starts)


def test_every_shape_of_result_line(tmp_path: Path) -> None:
    """Lines of every endpoint and shape, odd ones included, each made a row by the same rules."""
    ids = [*"abcdefghij"]
    part = write_jsonl(tmp_path / "part.jsonl", (chat(c) for c in ids))
    answer = {"status_code": 200, "body": {}}
    lines = [
        b'{"custom_id": "a", "response": {"status_code": 200, "body": {"object": "response", "status": "completed",'
        b' "output": [{"type": "reasoning", "content": [{"type": "reasoning_text", "text": "hmm"}]},'
        b' {"type": "message", "content": [{"type": "output_text", "text": "Hel"}, {"type": "output_text",'
        b' "text": "lo"}]}], "usage": {"input_tokens": 5, "output_tokens": 2}}}}',
        b'{"custom_id": "b", "response": {"status_code": 200, "body": {"results": [{"flagged": false}, {}]}}}',
        b'{"custom_id": "c", "response": {"status_code": 200, "body": {"choices": {"odd": 1},'
        b' "usage": {"prompt_tokens": "7", "completion_tokens": true}}}}',
        b'{"custom_id": "d", "response": {"status_code": 200, "body": {"choices": ["x", 1]}}}',
        b'{"custom_id": "e", "response": {"status_code": 400, "body": {"error": {"message": "bad",'
        b' "type": "invalid_request_error"}}}, "attempts": 2}',
        b'{"custom_id": "f", "response": {"status_code": 200, "body": {"choices": [{"message": {"content": "ok"},'
        b' "finish_reason": "stop"}], "usage": {"prompt_tokens": NaN, "completion_tokens": 3}}}}',
        b'{"custom_id": "g", "response": {"status_co',
        b'{"custom_id": "i", "response": null, "error": {"code": "batch_expired", "message": "ran out of time"}}',
        b'{"custom_id": "j", "response": ' + json.dumps(answer).encode() + b', "attempts": 1}',
    ]
    output = tmp_path / "output.jsonl"
    output.write_bytes(b"\n".join(lines) + b"\n")
    builder = SummaryBuilder()
    table = write_results_table([str(part)], str(output), None, str(tmp_path / "t"), summary=builder)
    rows = (
        pd.read_parquet(table.directory)
        .set_index("custom_id")
        .astype(object)
        .where(lambda df: df.notna(), None)
    )
    got = {c: {k: v for k, v in rows.loc[c].items() if v is not None and k != "model"} for c in ids}
    assert got == {
        "a": {"status": "succeeded", "text": "Hello", "outputs": 1, "finish_reason": "completed",
              "http_status": 200, "prompt_tokens": 5, "completion_tokens": 2},
        "b": {"status": "succeeded", "outputs": 2, "http_status": 200},
        "c": {"status": "succeeded", "http_status": 200},
        "d": {"status": "succeeded", "outputs": 2, "http_status": 200},
        "e": {"status": "failed", "http_status": 400, "error_code": "invalid_request_error", "error_message": "bad",
              "attempts": 2},
        "f": {"status": "succeeded", "text": "ok", "outputs": 1, "finish_reason": "stop", "http_status": 200,
              "completion_tokens": 3},
        "g": {"status": "failed", "error_code": "unreadable_result",
              "error_message": "its result line is cut short (not complete JSON): "
              """'{"custom_id": "g", "response": {"status_co'"""},
        "h": {"status": "missing", "error_code": "missing_result", "error_message": "no result file has a line for it"},
        "i": {"status": "failed", "error_code": "batch_expired", "error_message": "ran out of time"},
        "j": {"status": "succeeded", "http_status": 200, "attempts": 1},
    }  # fmt: skip
    summary = builder.build()
    assert (summary["succeeded"], summary["failed"], summary["missing"], summary["resent"]) == (6, 3, 1, 1)
    assert {f["code"]: f["example"]["custom_id"] for f in summary["failures"]} == {
        "invalid_request_error": "e",
        "unreadable_result": "g",
        "batch_expired": "i",
        "missing_result": "h",
    }
