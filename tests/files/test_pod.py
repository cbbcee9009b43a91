"""Upload and download through the exact container command Flyte runs in the pod (pyflyte-execute)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToJson

from flytekitplugins.openai.files import (
    BatchResult,
    DownloadJSONFilesTask,
    OpenAIFileConfig,
    UploadJSONLFileTask,
)
from openai_batch_emulator import Emulator
from tests.files.conftest import SECRET, SECRET_ENV, assert_downloaded, file_ids, run_batch
from tests.files.pod import jsonl_literal, python_literal, run_in_pod, serialize
from tests.files.requests import good_file, request, write_lines

pytestmark = pytest.mark.slow


def test_upload_in_a_pod(tmp_path: Path, emulator: Any, openai_client: Any) -> None:
    path = good_file(tmp_path / "requests.jsonl", n=6)
    task = UploadJSONLFileTask("upload", OpenAIFileConfig(SECRET, base_url=emulator.base_url))
    run = run_in_pod(
        task, {"jsonl_in": jsonl_literal(path)}, tmp_path / "pod", {SECRET_ENV: emulator.api_key}
    )
    assert run.returncode == 0, run.log[-4000:]
    file_id = run.output("result", str)
    assert file_ids(openai_client) == {file_id}
    assert openai_client.files.content(file_id).read() == path.read_bytes()


def test_download_in_a_pod_with_base_url_from_the_environment(
    tmp_path: Path, emulator: Any, openai_client: Any
) -> None:
    emulator.configure(fail_custom_ids=r"^req-2$")
    batch = run_batch(openai_client, good_file(tmp_path / "requests.jsonl", n=4))
    task = DownloadJSONFilesTask("download", OpenAIFileConfig(SECRET))
    template = serialize(task)
    inputs = {"batch_endpoint_result": python_literal(template, "batch_endpoint_result", batch, dict)}
    env = {SECRET_ENV: emulator.api_key, "OPENAI_BASE_URL": emulator.base_url}
    run = run_in_pod(task, inputs, tmp_path / "pod", env)
    assert run.returncode == 0, run.log[-4000:]
    assert "4 requests: 3 succeeded, 1 failed (0 missing)" in run.stdout
    result = run.output("result", BatchResult)
    assert_downloaded(result, batch, openai_client)
    # Result files were written under the raw output prefix Flyte gave the pod.
    assert str(tmp_path / "pod" / "raw") in result.output_file.path


def test_bad_file_in_a_pod_uploads_nothing(tmp_path: Path, emulator: Any, openai_client: Any) -> None:
    path = write_lines(tmp_path / "requests.jsonl", [request(0), request(1, method="GET"), "{oops"])
    task = UploadJSONLFileTask("upload", OpenAIFileConfig(SECRET, base_url=emulator.base_url))
    run = run_in_pod(
        task, {"jsonl_in": jsonl_literal(path)}, tmp_path / "pod", {SECRET_ENV: emulator.api_key}
    )
    assert run.returncode != 0
    assert run.error is not None
    assert "line 2: method must be 'POST', got 'GET'" in run.error
    assert "line 3: not valid JSON" in run.error
    assert file_ids(openai_client) == set()


def test_missing_secret_in_a_pod(tmp_path: Path, emulator: Any, openai_client: Any) -> None:
    path = good_file(tmp_path / "requests.jsonl")
    task = UploadJSONLFileTask("upload", OpenAIFileConfig(SECRET, base_url=emulator.base_url))
    run = run_in_pod(task, {"jsonl_in": jsonl_literal(path)}, tmp_path / "pod", {})
    assert run.returncode != 0
    assert run.error is not None
    assert "group='tests', key='openai_key'" in run.error
    assert file_ids(openai_client) == set()


def test_key_never_reaches_template_logs_or_errors(tmp_path: Path, emulator: Any, openai_client: Any) -> None:
    """Debug logging on everywhere (flytekit and the SDK); a good run and a rejected key both stay clean."""
    path = good_file(tmp_path / "requests.jsonl")
    task = UploadJSONLFileTask("upload", OpenAIFileConfig(SECRET, base_url=emulator.base_url))
    loud = {"OPENAI_LOG": "debug"}

    good = run_in_pod(
        task, {"jsonl_in": jsonl_literal(path)}, tmp_path / "good", {SECRET_ENV: emulator.api_key, **loud}
    )
    assert good.returncode == 0, good.log[-4000:]
    assert emulator.api_key not in good.log
    assert emulator.api_key not in MessageToJson(good.template.to_flyte_idl())
    assert emulator.api_key not in (tmp_path / "good" / "task_template.pb").read_bytes().decode("latin-1")

    canary = "sk-fake-rejected-canary-7d1e0b42"
    with Emulator(data_dir=tmp_path / "strict", api_key="sk-only-this-one") as strict:
        task = UploadJSONLFileTask("upload", OpenAIFileConfig(SECRET, base_url=strict.base_url))
        bad = run_in_pod(
            task, {"jsonl_in": jsonl_literal(path)}, tmp_path / "bad", {SECRET_ENV: canary, **loud}
        )
    assert bad.returncode != 0
    assert bad.error is not None
    assert "HTTP 401" in bad.error
    assert canary not in bad.error
    assert canary not in bad.log
