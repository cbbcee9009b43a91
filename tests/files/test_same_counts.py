"""One result file, one count: the seed's download and a job's collect step count the same requests alike.

Each case starts from a real batch's output file (the emulator answers four requests), changes one
thing, and gives the same files to both downloads: the seed's `DownloadJSONFilesTask` (run as a
workflow runs it locally, fetching the files from the server) and the job's collect path
(`resend.collect_round`, as the collect step calls it, on the same bytes). Both must count the
same requests succeeded, failed and missing, and that count is the one written in the table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flytekitplugins.openai.files import DownloadJSONFilesTask, OpenAIFileConfig
from openai_batch_jobs.results.resend import RoundPart, collect_round
from tests.files.conftest import run_batch
from tests.files.requests import good_file

REQUESTS = 4
LAST = f"req-{REQUESTS - 1}"
SUMMARY = re.compile(r": (\d+) requests?: (\d+) succeeded, (\d+) failed \((\d+) missing\)")

Lines = dict[str, bytes]  # the real output line of each request, by custom_id


@dataclass(frozen=True)
class Case:
    """The result files made from the real lines: output lines, error lines, the batch's status."""

    build: Callable[[Lines], tuple[list[bytes], list[bytes], str]]
    counts: tuple[int, int, int]  # succeeded, failed (missing included), missing


def _others(lines: Lines) -> list[bytes]:
    return [line for custom_id, line in lines.items() if custom_id != LAST]


def _with_last(
    change: Callable[[dict[str, Any]], None],
) -> Callable[[Lines], tuple[list[bytes], list[bytes], str]]:
    """The real files, but the last request's line changed in place by ``change``."""

    def build(lines: Lines) -> tuple[list[bytes], list[bytes], str]:
        record = json.loads(lines[LAST])
        change(record)
        return [*_others(lines), json.dumps(record).encode() + b"\n"], [], "completed"

    return build


def _body_error(record: dict[str, Any]) -> None:
    record["response"]["body"] = {"error": {"code": "server_error", "message": "the model failed"}}


def _not_2xx(record: dict[str, Any]) -> None:
    record["response"]["status_code"] = 400
    record["response"]["body"] = {"error": {"code": "invalid_request", "message": "bad", "type": "x"}}


CASES = {
    "a 2xx line with an error in its body": Case(_with_last(_body_error), (3, 1, 0)),
    "a non-2xx line": Case(_with_last(_not_2xx), (3, 1, 0)),
    # The line names no request: the request without a line was most likely it, so failed, not missing.
    "a line that is not JSON": Case(
        lambda lines: ([*_others(lines), b"<html>502 Bad Gateway</html>\n"], [], "completed"), (3, 1, 0)
    ),
    "a line cut short": Case(lambda lines: ([*_others(lines), lines[LAST][:60]], [], "completed"), (3, 1, 0)),
    "a repeated answer": Case(lambda lines: ([*lines.values(), lines["req-1"]], [], "completed"), (4, 0, 0)),
    "a request no file answers": Case(lambda lines: (_others(lines), [], "completed"), (3, 1, 1)),
    "an error-file line with batch_expired": Case(
        lambda lines: (
            _others(lines),
            [
                json.dumps(
                    {
                        "id": "batch_req_x",
                        "custom_id": LAST,
                        "response": None,
                        "error": {"code": "batch_expired", "message": "This request could not be executed."},
                    }
                ).encode()
                + b"\n"
            ],
            "expired",
        ),
        (3, 1, 0),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_both_downloads_count_the_same(
    name: str,
    tmp_path: Path,
    files_config: OpenAIFileConfig,
    openai_client: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    case = CASES[name]
    inputs = good_file(tmp_path / "in.jsonl", n=REQUESTS)
    real = run_batch(openai_client, inputs)
    content = openai_client.files.content(real["output_file_id"]).read()
    lines = {json.loads(line)["custom_id"]: line for line in content.splitlines(keepends=True)}
    assert sorted(lines) == [f"req-{i}" for i in range(REQUESTS)]
    output, errors, status = case.build(lines)
    batch = {
        **real,
        "status": status,
        "output_file_id": upload(openai_client, tmp_path / "output.jsonl", output),
        "error_file_id": upload(openai_client, tmp_path / "errors.jsonl", errors),
    }

    DownloadJSONFilesTask("down", files_config)(batch_endpoint_result=batch)
    found = SUMMARY.findall(capfd.readouterr().out)
    assert len(found) == 1, found
    requests, *seed = (int(n) for n in found[0])
    assert requests == REQUESTS

    part = RoundPart(
        str(inputs),
        batch,
        str(tmp_path / "output.jsonl") if output else None,
        str(tmp_path / "errors.jsonl") if errors else None,
    )
    report = collect_round(
        [part],
        attempt=1,
        max_request_attempts=1,
        output_path=str(tmp_path / "job-output.jsonl"),
        error_path=str(tmp_path / "job-errors.jsonl"),
        resend_path=str(tmp_path / "retry.jsonl"),
    )
    assert report.requests == REQUESTS
    assert (report.succeeded, report.failed, report.missing) == tuple(seed) == case.counts


def upload(client: Any, path: Path, lines: list[bytes]) -> str | None:
    """The file on the server (as a batch's result file), or None for a file the batch would not have."""
    if not lines:
        return None
    path.write_bytes(b"".join(lines))
    with open(path, "rb") as stream:
        return str(client.files.create(file=stream, purpose="user_data").id)
