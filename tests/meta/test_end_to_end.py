"""create_batch workflows run locally, end to end, against the emulator: from Python and `pyflyte run`.

Every input custom_id must come back exactly once across the output and error files, and each answer
must be the emulator's answer to that very request.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterator  # noqa: UP035  (the type flytekit streams as JSONL)

import pytest
from flytekit import task, workflow
from flytekit.types.file import JSONLFile
from flytekit.types.iterator import JSON

from flytekitplugins.openai import BatchResult, create_batch
from openai_batch_emulator import Emulator

from .conftest import SECRET
from .pyflyte_runs import run_example

pytestmark = pytest.mark.slow

QUESTIONS = [f"question number {i}" for i in range(1, 7)]
FAILING = {"q-2", "q-5"}  # the emulator fails these (fail_custom_ids), so an error file exists


def request(custom_id: str, question: str) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]},
    }


def requests() -> list[dict[str, Any]]:
    return [request(f"q-{i}", q) for i, q in enumerate(QUESTIONS, start=1)]


def read_jsonl(path: str | os.PathLike[str] | None) -> list[dict[str, Any]]:
    if path is None:
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def check_results(output: list[dict[str, Any]], errors: list[dict[str, Any]]) -> None:
    seen = [line["custom_id"] for line in output + errors]
    assert sorted(seen) == sorted(r["custom_id"] for r in requests()), "each custom_id exactly once"
    asked = {r["custom_id"]: r["body"]["messages"][-1]["content"] for r in requests()}
    for line in output:
        assert line["response"]["status_code"] == 200
        assert (
            line["response"]["body"]["choices"][0]["message"]["content"]
            == f"Echo: {asked[line['custom_id']]}"
        )
    assert {line["custom_id"] for line in errors} == FAILING
    for line in errors:
        assert line["response"]["status_code"] >= 400 or line["error"] is not None


@pytest.fixture
def failing_emulator(emulator: Emulator, local_env: dict[str, str]) -> Emulator:
    emulator.configure(fail_custom_ids="^(" + "|".join(sorted(FAILING)) + ")$")
    return emulator


def test_jsonl_file_workflow_from_python(failing_emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in requests()))
    wf = create_batch(name="e2e-file", secret=SECRET, is_json_iterator=False)

    result = wf(jsonl_in=JSONLFile(str(path)))

    assert isinstance(result, BatchResult)
    check_results(read_jsonl(result.output_file), read_jsonl(result.error_file))
    # Once the results are downloaded nothing needs the input files: they are gone from the server.
    with failing_emulator.client() as client:
        assert [f.id for f in client.files.list() if f.purpose == "batch"] == []


@task
def make_requests() -> Iterator[JSON]:
    yield from requests()


# The input file is kept, to compare it with what the generator yielded.
iterator_batch = create_batch(name="e2e-iterator", secret=SECRET, delete_input_files=False)


@workflow
def iterator_pipeline() -> BatchResult:
    return iterator_batch(jsonl_in=make_requests())


def test_iterator_workflow_from_python(failing_emulator: Emulator) -> None:
    result = iterator_pipeline()

    check_results(read_jsonl(result.output_file), read_jsonl(result.error_file))
    # What the server was given is exactly what the generator yielded, line for line.
    with failing_emulator.client() as client:
        # The first round's batch (newest first); the failing requests were sent twice more on their own.
        *_, batch = client.batches.list().data
        sent = [json.loads(line) for line in client.files.content(batch.input_file_id).text.splitlines()]
    assert sent == requests()


def test_jsonl_file_workflow_from_pyflyte_run(
    failing_emulator: Emulator, local_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in requests()))
    run = run_example(path, {**os.environ, **local_env})
    assert run.returncode == 0, run.stdout + run.stderr
    files = sorted(set(re.findall(r"(/[^\s'\"]+-(?:output|errors?)\.jsonl)", run.stdout)))
    assert len(files) == 2, run.stdout
    output = [line for f in files if "output" in Path(f).name for line in read_jsonl(f)]
    errors = [line for f in files if "output" not in Path(f).name for line in read_jsonl(f)]
    check_results(output, errors)
    assert failing_emulator.api_key not in run.stdout + run.stderr
