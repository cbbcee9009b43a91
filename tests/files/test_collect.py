"""The collect task: every part's results into one output and one error file, each request once."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flytekit import Secret

from flytekitplugins.openai.files import BatchResult, OpenAIFileConfig
from flytekitplugins.openai.files.collect import CollectResultsTask
from openai_batch_emulator import Emulator
from openai_batch_jobs.errors import BatchResultError
from openai_batch_jobs.inputs.split import PartLimits, part_file, plan_parts
from tests.files.conftest import SECRET_ENV, file_ids, run_batch
from tests.files.pod import python_literal, run_in_pod, serialize
from tests.files.requests import good_file, request, write_lines
from tests.support.waiting import wait_until


def run_job(client: Any, path: Path, limits: PartLimits, tmp_path: Path) -> list[dict[str, Any]]:
    """Cut the file as the upload does and run each part as a batch: the job task's result, in part order."""
    plan = plan_parts(str(path), limits)
    batches = []
    for part in plan.parts:
        with part_file(plan, part, str(tmp_path)) as part_path:
            batches.append(run_batch(client, Path(part_path)))
    return batches


def custom_ids(path: Any) -> list[str]:
    return [json.loads(line)["custom_id"] for line in Path(path).read_text().splitlines()] if path else []


def test_parts_collect_into_one_output_and_one_error_file(
    tmp_path: Path,
    emulator: Emulator,
    files_config: OpenAIFileConfig,
    openai_client: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    emulator.configure(fail_custom_ids="^req-(4|8)$")
    path = good_file(tmp_path / "requests.jsonl", n=10)
    batches = run_job(openai_client, path, PartLimits(requests=4), tmp_path)
    inputs = {b["input_file_id"] for b in batches}
    results = {f for b in batches for f in (b["output_file_id"], b["error_file_id"]) if f}

    result = CollectResultsTask("collect", files_config)(job_result={"batches": batches})

    output, errors = custom_ids(result.output_file.download()), custom_ids(result.error_file.download())
    assert sorted(output + errors) == sorted(f"req-{i}" for i in range(10)), "every request exactly once"
    assert set(errors) == {"req-4", "req-8"}
    assert output == [f"req-{i}" for i in range(10) if i not in (4, 8)]  # part order, then each part's order
    out = capfd.readouterr().out
    assert (
        f"Part 1 of 3 (batch {batches[0]['id']}, completed): 4 requests: 4 succeeded, 0 failed, 0 missing"
        in out
    )
    assert re.search(
        r"Part 2 of 3 \(batch \w+, completed\): 4 requests: 3 succeeded, 1 failed, 0 missing", out
    )
    assert re.search(
        r"Part 3 of 3 \(batch \w+, completed\): 2 requests: 1 succeeded, 1 failed, 0 missing", out
    )
    assert "Job of 3 parts: 10 requests: 8 succeeded, 2 failed, 0 missing" in out
    # The inputs are deleted once the results are safe; the result files are kept unless asked.
    assert file_ids(openai_client) == results
    assert not inputs & file_ids(openai_client)


def test_result_files_deleted_when_asked(
    tmp_path: Path, files_config: OpenAIFileConfig, openai_client: Any
) -> None:
    batches = run_job(openai_client, good_file(tmp_path / "r.jsonl", n=5), PartLimits(requests=2), tmp_path)
    task = CollectResultsTask("collect", files_config, delete_result_files=True)
    result = task(job_result={"batches": batches})
    assert len(custom_ids(result.output_file.download())) == 5
    assert file_ids(openai_client) == set()


def test_a_single_batch_dict_is_a_job_of_one_part(
    tmp_path: Path, files_config: OpenAIFileConfig, openai_client: Any
) -> None:
    batch = run_batch(openai_client, good_file(tmp_path / "r.jsonl", n=3))
    result = CollectResultsTask("collect", files_config, delete_input_files=False)(job_result=batch)
    assert custom_ids(result.output_file.download()) == ["req-0", "req-1", "req-2"]
    assert result.error_file is None
    assert batch["input_file_id"] in file_ids(openai_client)


def test_requests_missing_from_both_files_are_a_warning_on_stderr_or_a_failure(
    tmp_path: Path, files_config: OpenAIFileConfig, openai_client: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    batches = run_job(openai_client, good_file(tmp_path / "r.jsonl", n=4), PartLimits(requests=2), tmp_path)
    # The second part claims a bigger input than it answered: req-9 is in neither result file.
    bigger = write_lines(tmp_path / "claimed.jsonl", [request(2), request(3), request(9)])
    with open(bigger, "rb") as stream:
        batches[1]["input_file_id"] = openai_client.files.create(file=stream, purpose="batch").id
    batches[1]["request_counts"]["total"] = 3  # its count agrees with that input, not with its files

    task = CollectResultsTask("collect", files_config, delete_input_files=False)
    task(job_result={"batches": batches})
    out, err = capfd.readouterr()
    assert re.search(
        r"Part 2 of 2 \(batch \w+, completed\): 3 requests: 2 succeeded, 0 failed, 1 missing", out
    )
    assert "Job of 2 parts: 5 requests: 4 succeeded, 0 failed, 1 missing" in out
    assert "WARNING: The job: 1 of 5 requests is in neither the output nor the error file: 'req-9'" in err

    strict = CollectResultsTask("collect", files_config, fail_on_missing_requests=True)
    with pytest.raises(
        BatchResultError, match=r"The job: 1 of 5 requests is in neither .*fail_on_missing_requests is set"
    ):
        strict(job_result={"batches": batches})


def test_a_malformed_job_result_is_a_clear_error(files_config: OpenAIFileConfig) -> None:
    with pytest.raises(BatchResultError, match="'batches' must be a non-empty list"):
        CollectResultsTask("collect", files_config)(job_result={"batches": []})


def test_collect_in_a_pod(tmp_path: Path, emulator: Emulator, openai_client: Any) -> None:
    batches = run_job(openai_client, good_file(tmp_path / "r.jsonl", n=5), PartLimits(requests=3), tmp_path)
    task = CollectResultsTask("collect", OpenAIFileConfig(Secret(group="tests", key="openai_key")))
    template = serialize(task)
    assert template.type == "openai-batch-collect"
    inputs = {"job_result": python_literal(template, "job_result", {"batches": batches}, dict)}
    env = {SECRET_ENV: emulator.api_key, "OPENAI_BASE_URL": emulator.base_url}
    run = run_in_pod(task, inputs, tmp_path / "pod", env)
    assert run.returncode == 0, run.log[-4000:]
    assert "Job of 2 parts: 5 requests: 5 succeeded, 0 failed, 0 missing" in run.stdout
    result = run.output("result", BatchResult)
    assert len(custom_ids(result.output_file.download())) == 5


def test_a_cancelled_part_accepted_with_its_results_is_a_warning(
    tmp_path: Path,
    emulator: Emulator,
    files_config: OpenAIFileConfig,
    openai_client: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    emulator.configure(requests_per_second=2, validating_seconds=0)
    with open(good_file(tmp_path / "r.jsonl", n=50), "rb") as stream:
        uploaded = openai_client.files.create(file=stream, purpose="batch")
    batch = openai_client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    retrieve = functools.partial(openai_client.batches.retrieve, batch.id)
    wait_until(retrieve, until=lambda b: b.request_counts.completed >= 1, what="a request answered")
    openai_client.batches.cancel(batch.id)
    batch = wait_until(retrieve, until=lambda b: b.status == "cancelled", what="the batch cancelled")

    result = CollectResultsTask("collect", files_config)(
        job_result={"batches": [batch.model_dump(mode="json")]}
    )

    answered = len(custom_ids(result.output_file.download())) + len(
        custom_ids(result.error_file and result.error_file.download())
    )
    assert 1 <= answered <= 50
    err = capfd.readouterr().err
    assert re.search(
        rf"WARNING: Part 1 \(batch {batch.id}\) was cancelled and is accepted with the results it has", err
    )
