"""The download task against batches the emulator really ran."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from flytekitplugins.openai.files import (
    BatchResult,
    BatchResultError,
    DownloadJSONFilesTask,
    OpenAIFileConfig,
)
from tests.files.conftest import SECRET, SECRET_ENV, run_batch
from tests.files.requests import URL, good_file
from tests.support.waiting import wait_until


def lines_of(path: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_output_file_only(tmp_path: Path, files_config: OpenAIFileConfig, openai_client: Any) -> None:
    batch = run_batch(openai_client, good_file(tmp_path / "in.jsonl", n=4))
    assert batch["status"] == "completed"
    result = DownloadJSONFilesTask("down", files_config)(batch_endpoint_result=batch)
    assert isinstance(result, BatchResult)
    assert result.error_file is None
    assert result.output_file is not None
    local = result.output_file.download()
    assert sorted(r["custom_id"] for r in lines_of(local)) == [f"req-{i}" for i in range(4)]
    assert Path(local).read_bytes() == openai_client.files.content(batch["output_file_id"]).read()


def test_output_and_error_files(
    tmp_path: Path,
    emulator: Any,
    files_config: OpenAIFileConfig,
    openai_client: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    emulator.configure(fail_custom_ids=r"^req-(1|3)$")
    batch = run_batch(openai_client, good_file(tmp_path / "in.jsonl", n=5))
    result = DownloadJSONFilesTask("down", files_config)(batch_endpoint_result=batch)
    assert result.output_file is not None
    assert result.error_file is not None
    failed = {r["custom_id"] for r in lines_of(result.error_file.download())}
    failed |= {
        r["custom_id"] for r in lines_of(result.output_file.download()) if r["response"]["status_code"] >= 300
    }
    assert failed == {"req-1", "req-3"}
    assert "5 requests: 3 succeeded, 2 failed (0 missing)" in capfd.readouterr().out


def cancelled_with_one_unanswered(client: Any, emulator: Any, path: Path) -> dict[str, Any]:
    """A batch of two requests cancelled after answering the first: the second is in neither file.

    Request i is answered (i + 1) gaps after the batch starts, so the cancel has to land within one
    gap of seeing the first answer; on a machine too slow for that the gap doubles and it runs again.
    """
    with open(good_file(path, n=2), "rb") as stream:
        input_id = client.files.create(file=stream, purpose="batch").id
    gap = 1.0
    for _ in range(6):
        emulator.configure(validating_seconds=0, cancelling_seconds=0, requests_per_second=1 / gap)
        batch = client.batches.create(input_file_id=input_id, endpoint=URL, completion_window="24h")
        retrieve = functools.partial(client.batches.retrieve, batch.id)
        answered = lambda b: b.request_counts and b.request_counts.completed  # noqa: E731
        wait_until(retrieve, until=answered, timeout=60 * gap, what="a request answered")
        client.batches.cancel(batch.id)
        batch = wait_until(retrieve, until=lambda b: b.status == "cancelled", what="the batch cancelled")
        if batch.request_counts is not None and batch.request_counts.completed == 1:
            return dict(batch.model_dump(mode="json"))
        gap *= 2
    raise AssertionError("could not cancel a batch between its two answers")


@pytest.mark.slow
def test_a_request_in_neither_file_is_named_and_can_fail_the_task(
    tmp_path: Path,
    emulator: Any,
    files_config: OpenAIFileConfig,
    openai_client: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    batch = cancelled_with_one_unanswered(openai_client, emulator, tmp_path / "in.jsonl")
    assert batch["request_counts"] == {"total": 2, "completed": 1, "failed": 0}

    missing_named(
        batch,
        files_config,
        capfd,
        counts="2 requests: 1 succeeded, 1 failed (1 missing)",
        named="1 of 2 requests is in neither the output nor the error file: 'req-1'",
        refused=r"1 of 2 requests .*'req-1' \(fail_on_missing_requests is set\)",
    )


def missing_named(
    batch: dict[str, Any],
    files_config: OpenAIFileConfig,
    capfd: pytest.CaptureFixture[str],
    *,
    counts: str,
    named: str,
    refused: str,
) -> None:
    """The download counts the requests in neither file (stdout) and names them in a warning
    (stderr: pyflyte shows only CRITICAL logs by default); with fail_on_missing_requests it refuses."""
    result = DownloadJSONFilesTask("down", files_config)(batch_endpoint_result=batch)
    assert result.output_file is not None
    out, err = capfd.readouterr()
    assert counts in out
    assert "WARNING: " in err
    assert named in err
    task = DownloadJSONFilesTask("down", files_config, fail_on_missing_requests=True)
    with pytest.raises(BatchResultError, match=refused):
        task(batch_endpoint_result=batch)


@pytest.mark.slow
def test_many_missing_requests_are_named_a_few_at_a_time(
    tmp_path: Path,
    files_config: OpenAIFileConfig,
    openai_client: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    batch = run_batch(openai_client, good_file(tmp_path / "ran.jsonl", n=3))
    # The batch claims a larger input than it answered: req-3..req-9 are in neither result file.
    with open(good_file(tmp_path / "all.jsonl", n=10), "rb") as stream:
        batch["input_file_id"] = openai_client.files.create(file=stream, purpose="batch").id
    batch["request_counts"]["total"] = 10

    missing_named(
        batch,
        files_config,
        capfd,
        counts="10 requests: 3 succeeded, 7 failed (7 missing)",
        named="7 of 10 requests are in neither the output nor the error file: 'req-3', 'req-4'",
        refused=r"7 of 10 requests .* and 2 more \(fail_on_missing_requests is set\)",
    )


def test_a_repeated_id_is_caught_though_the_counts_agree(
    tmp_path: Path,
    files_config: OpenAIFileConfig,
    openai_client: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    batch = run_batch(openai_client, good_file(tmp_path / "in.jsonl", n=3))
    # A server that answers req-1 twice and req-2 never: three lines for three requests.
    lines = openai_client.files.content(batch["output_file_id"]).read().splitlines(keepends=True)
    by_id = {json.loads(line)["custom_id"]: line for line in lines}
    forged = write_bytes(tmp_path / "output.jsonl", by_id["req-0"] + by_id["req-1"] + by_id["req-1"])
    with open(forged, "rb") as stream:
        batch["output_file_id"] = openai_client.files.create(file=stream, purpose="user_data").id
    assert batch["request_counts"] == {"total": 3, "completed": 3, "failed": 0}

    DownloadJSONFilesTask("down", files_config)(batch_endpoint_result=batch)
    out, err = capfd.readouterr()
    assert "3 requests: 2 succeeded, 1 failed (1 missing)" in out
    assert "1 of 3 requests is in neither the output nor the error file: 'req-2'" in err


def test_batch_with_neither_file_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checked before the key is read or anything is fetched: no emulator, no secret needed."""
    monkeypatch.delenv(SECRET_ENV, raising=False)
    batch = {
        "id": "batch_abc",
        "status": "failed",
        "input_file_id": "file-x",
        "output_file_id": None,
        "error_file_id": None,
        "errors": {"data": [{"code": "invalid_model", "message": "no such model", "line": 1}]},
    }
    with pytest.raises(
        BatchResultError,
        match=r"Batch batch_abc \(status 'failed'\) .*\(errors: \[invalid_model\] no such model \(line 1\)\)",
    ):
        DownloadJSONFilesTask("down", OpenAIFileConfig(SECRET))(batch_endpoint_result=batch)


def test_deleted_input_file_is_not_needed_when_every_request_is_accounted_for(
    tmp_path: Path,
    files_config: OpenAIFileConfig,
    openai_client: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    batch = run_batch(openai_client, good_file(tmp_path / "in.jsonl", n=3))
    openai_client.files.delete(batch["input_file_id"])

    task = DownloadJSONFilesTask("down", files_config, fail_on_missing_requests=True)
    result = task(batch_endpoint_result=batch)
    assert result.output_file is not None
    assert "3 requests: 3 succeeded, 0 failed (0 missing)" in capfd.readouterr().out


def test_deleted_input_file_keeps_the_results_unless_the_count_is_required(
    tmp_path: Path,
    emulator: Any,
    files_config: OpenAIFileConfig,
    openai_client: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # One request is in neither file, so the input is needed to name it; it is gone.
    batch = cancelled_with_one_unanswered(openai_client, emulator, tmp_path / "in.jsonl")
    input_id = batch["input_file_id"]
    openai_client.files.delete(input_id)

    result = DownloadJSONFilesTask("down", files_config)(batch_endpoint_result=batch)
    assert result.output_file is not None
    assert len(lines_of(result.output_file.download())) == 1
    err = capfd.readouterr().err
    assert f"cannot read its input file {input_id} (" in err
    assert "404" in err

    task = DownloadJSONFilesTask("down", files_config, fail_on_missing_requests=True)
    with pytest.raises(
        BatchResultError, match=rf"input file {input_id} .*fail_on_missing_requests is set.*404"
    ):
        task(batch_endpoint_result=batch)
