"""Round 1's collect step fed the upload step's keys files, both run the way a Flyte pod runs them
(issue 27): it downloads no part's input file, and ends the job with the same files and table as the
same step given no keys (which downloads the inputs, as a step serialized before keys existed does)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from flytekit.models import literals

from flytekitplugins.openai.files import BatchResult, RoundState
from flytekitplugins.openai.files.upload import UploadPartsTask
from openai_batch_emulator import Emulator
from openai_batch_jobs.inputs.split import PartLimits
from openai_batch_jobs.results.job_result import JobResult
from tests.files.conftest import SECRET_ENV, run_uploaded
from tests.files.pod import PodRun, jsonl_literal, python_literal, run_in_pod, serialize
from tests.files.requests import request, write_lines
from tests.files.round_steps import CONFIG, collect_step

pytestmark = pytest.mark.slow


def in_pod(task: Any, inputs: dict[str, literals.Literal], workdir: Path, emulator: Emulator) -> PodRun:
    run = run_in_pod(
        task, inputs, workdir, {SECRET_ENV: emulator.api_key, "OPENAI_BASE_URL": emulator.base_url}
    )
    assert run.returncode == 0, run.log[-4000:]
    return run


def collected(run: PodRun) -> tuple[bytes, bytes, pd.DataFrame]:
    result = run.output("result", BatchResult)
    table = result.table.open(pd.DataFrame).all()
    return (
        Path(result.output_file.download()).read_bytes(),
        Path(result.error_file.download()).read_bytes(),
        table,
    )


def test_round_one_reads_the_uploads_keys_instead_of_the_parts(
    tmp_path: Path, emulator: Emulator, openai_client: Any
) -> None:
    emulator.configure(fail_requests=[{"custom_ids": "^bad-", "status": 400}])
    ids = [f"{'bad' if i % 3 == 1 else 'ok'}-{i}" for i in range(7)]
    path = write_lines(tmp_path / "requests.jsonl", [request(i, custom_id=c) for i, c in enumerate(ids)])
    upload = UploadPartsTask(
        "openai-file-upload-job", CONFIG, limits=PartLimits(requests=3), request_keys=True
    )
    uploaded = in_pod(upload, {"jsonl_in": jsonl_literal(path)}, tmp_path / "upload", emulator)
    parts = uploaded.output("parts", list[str])
    assert len(parts) == 3
    batches = [run_uploaded(openai_client, part) for part in parts]

    step = collect_step(1, delete_input_files=False)
    template = serialize(step)
    job_result = JobResult(batches=batches, parts=3, parts_done=3)
    inputs = {
        "job_result": python_literal(template, "job_result", job_result, JobResult),
        "state": python_literal(template, "state", RoundState(), RoundState),
    }
    with_keys = in_pod(
        step, {**inputs, "part_keys": uploaded.outputs.literals["keys"]}, tmp_path / "keys", emulator
    )
    assert {part: emulator.downloads().get(part, 0) for part in parts} == dict.fromkeys(parts, 0)

    without_keys = in_pod(step, inputs, tmp_path / "inputs", emulator)
    assert {part: emulator.downloads().get(part, 0) for part in parts} == dict.fromkeys(parts, 1)

    output, errors, table = collected(with_keys)
    assert (output, errors) == collected(without_keys)[:2]
    pd.testing.assert_frame_equal(table, collected(without_keys)[2])
    assert list(table["custom_id"]) == ids
    assert sorted(table["status"]) == sorted("failed" if c.startswith("bad") else "succeeded" for c in ids)
