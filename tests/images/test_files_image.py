"""The files image runs the upload, download and collect tasks' real container command, as a Flyte pod would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flytekitplugins.openai.files import (
    BatchResult,
    DownloadJSONFilesTask,
    OpenAIFileConfig,
    UploadJSONLFileTask,
)
from tests.files.conftest import SECRET, SECRET_ENV, assert_downloaded, run_batch
from tests.files.pod import jsonl_literal, python_literal, run_in_pod, serialize
from tests.files.requests import good_file
from tests.files.test_collect_rounds import collect_step, next_round, round_inputs
from tests.images.conftest import Image

pytestmark = pytest.mark.slow


def test_files_image_runs_the_upload_task(
    files_image: Image, tmp_path: Path, emulator: Any, openai_client: Any
) -> None:
    requests = good_file(tmp_path / "requests.jsonl", n=3)
    task = UploadJSONLFileTask("up", OpenAIFileConfig(SECRET, base_url=emulator.base_url))

    # The key arrives as Flyte injects secrets.
    run = run_in_pod(
        task,
        {"jsonl_in": jsonl_literal(requests)},
        tmp_path / "pod",
        env={SECRET_ENV: emulator.api_key},
        launch=files_image.launch,
    )

    assert run.returncode == 0, run.log[-4000:]
    file_id = run.output("result", str)
    assert openai_client.files.content(file_id).read() == requests.read_bytes()
    assert emulator.api_key not in run.log


def test_files_image_runs_the_download_task(
    files_image: Image, tmp_path: Path, emulator: Any, openai_client: Any
) -> None:
    emulator.configure(fail_custom_ids=r"^req-1$")
    batch = run_batch(openai_client, good_file(tmp_path / "requests.jsonl", n=3))
    task = DownloadJSONFilesTask("down", OpenAIFileConfig(SECRET))
    inputs = {"batch_endpoint_result": python_literal(serialize(task), "batch_endpoint_result", batch, dict)}

    run = run_in_pod(
        task,
        inputs,
        tmp_path / "pod",
        env={SECRET_ENV: emulator.api_key, "OPENAI_BASE_URL": emulator.base_url},
        launch=files_image.launch,
    )

    assert run.returncode == 0, run.log[-4000:]
    assert "3 requests: 2 succeeded, 1 failed (0 missing)" in run.stdout
    assert_downloaded(run.output("result", BatchResult), batch, openai_client)
    assert emulator.api_key not in run.log


def test_files_image_runs_the_collect_step_that_adds_a_round(
    files_image: Image, tmp_path: Path, emulator: Any, openai_client: Any
) -> None:
    """The files image (no batch package, no connector) declares the next round's job task."""
    emulator.configure(fail_requests=[{"custom_ids": "^req-1$", "status": 500, "attempts": 1}])
    batch = run_batch(openai_client, good_file(tmp_path / "requests.jsonl", n=3))
    step = collect_step(1)

    run = run_in_pod(
        step,
        round_inputs(step, [batch]),
        tmp_path / "pod",
        env={SECRET_ENV: emulator.api_key, "OPENAI_BASE_URL": emulator.base_url},
        launch=files_image.launch,
    )

    assert run.returncode == 0, run.log[-4000:]
    assert run.futures is not None, "round 1 sends req-1 again: its pod returns round 2"
    [retry_part], _, _ = next_round(run.futures)
    assert openai_client.files.retrieve(retry_part).filename.startswith(
        f"openai-batch-jobs-retry-of-{batch['id']}~est-"
    )
    assert emulator.api_key not in run.log
