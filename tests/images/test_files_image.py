"""The files image's install step runs the upload task's container command, as a Flyte pod would."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from flytekitplugins.openai.files import OpenAIFileConfig, UploadJSONLFileTask
from tests.files.conftest import SECRET, SECRET_ENV
from tests.files.pod import jsonl_literal, run_in_pod
from tests.files.requests import good_file
from tests.images.image_env import install_image


@pytest.mark.slow
def test_files_image_runs_the_upload_task(
    plugin_wheels: Path, tmp_path: Path, emulator: Any, openai_client: Any
) -> None:
    bin_dir = install_image("files", tmp_path / "venv", plugin_wheels)
    requests = good_file(tmp_path / "requests.jsonl", n=3)
    task = UploadJSONLFileTask("up", OpenAIFileConfig(SECRET, base_url=emulator.base_url))

    run = run_in_pod(
        task,
        {"jsonl_in": jsonl_literal(requests)},
        tmp_path / "pod",
        # The image puts its venv first on PATH; the key arrives as Flyte injects secrets.
        env={"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", SECRET_ENV: emulator.api_key},
        bin_dir=bin_dir,
    )

    assert run.returncode == 0, run.log[-4000:]
    file_id = run.output("result", str)
    assert openai_client.files.content(file_id).read() == requests.read_bytes()
    assert emulator.api_key not in run.log
