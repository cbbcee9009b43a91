"""The upload task against the emulator: good files arrive whole, bad ones never leave the machine."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import openai
import pytest
from flytekit.types.file import JSONLFile

from flytekitplugins.openai.files import (
    InvalidRequestFile,
    MissingSecret,
    OpenAIFileConfig,
    TransferError,
    UploadJSONLFileTask,
)
from openai_batch_emulator import Emulator
from tests.files.conftest import SECRET, SECRET_ENV, file_ids
from tests.files.requests import BAD_FILES, good_file, write_lines


def test_upload_sends_the_file_with_purpose_batch(
    tmp_path: Path, files_config: OpenAIFileConfig, openai_client: Any
) -> None:
    path = good_file(tmp_path / "requests.jsonl", n=5)
    file_id = UploadJSONLFileTask("up", files_config)(jsonl_in=JSONLFile(str(path)))
    uploaded = openai_client.files.retrieve(file_id)
    assert uploaded.purpose == "batch"
    assert uploaded.bytes == path.stat().st_size
    assert uploaded.filename.endswith(".jsonl")
    content = openai_client.files.content(file_id).read()
    assert hashlib.sha256(content).digest() == hashlib.sha256(path.read_bytes()).digest()


@pytest.mark.parametrize(
    ("lines", "phrase"), [(b[1], b[2]) for b in BAD_FILES], ids=[b[0] for b in BAD_FILES]
)
def test_bad_file_is_rejected_and_nothing_uploaded(
    tmp_path: Path, files_config: OpenAIFileConfig, openai_client: Any, lines: list[Any], phrase: str
) -> None:
    before = file_ids(openai_client)
    path = tmp_path / "bad.jsonl"
    write_lines(path, lines) if lines else path.write_bytes(b"")
    with pytest.raises(InvalidRequestFile) as raised:
        UploadJSONLFileTask("up", files_config)(jsonl_in=JSONLFile(str(path)))
    assert phrase in str(raised.value)
    assert file_ids(openai_client) == before


def test_limits_set_on_the_task_apply(
    tmp_path: Path, files_config: OpenAIFileConfig, openai_client: Any
) -> None:
    path = good_file(tmp_path / "requests.jsonl", n=3)
    with pytest.raises(InvalidRequestFile, match="holds 3 requests; the limit is 2"):
        UploadJSONLFileTask("up", files_config, max_requests=2)(jsonl_in=JSONLFile(str(path)))
    assert file_ids(openai_client) == set()


def test_missing_secret_names_group_and_key(
    tmp_path: Path, emulator: Any, openai_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    monkeypatch.delenv("TESTS_OPENAI_KEY", raising=False)
    path = good_file(tmp_path / "requests.jsonl")
    task = UploadJSONLFileTask("up", OpenAIFileConfig(SECRET, base_url=emulator.base_url))
    with pytest.raises(MissingSecret, match=r"group='tests', key='openai_key'"):
        task(jsonl_in=JSONLFile(str(path)))
    assert file_ids(openai_client) == set()


def test_base_url_comes_from_the_environment_when_unset(
    tmp_path: Path, emulator: Any, api_key: str, openai_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    path = good_file(tmp_path / "requests.jsonl")
    file_id = UploadJSONLFileTask("up", OpenAIFileConfig(SECRET, max_retries=0))(
        jsonl_in=JSONLFile(str(path))
    )
    assert file_ids(openai_client) == {file_id}


def test_explicit_base_url_wins_over_the_environment(
    tmp_path: Path, files_config: OpenAIFileConfig, openai_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens on the discard port
    path = good_file(tmp_path / "requests.jsonl")
    file_id = UploadJSONLFileTask("up", files_config)(jsonl_in=JSONLFile(str(path)))
    assert file_ids(openai_client) == {file_id}


@pytest.mark.slow
def test_wrong_key_fails_without_showing_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "sk-fake-wrong-key-canary-5f3a9c"
    monkeypatch.setenv(SECRET_ENV, wrong)
    path = good_file(tmp_path / "requests.jsonl")
    with Emulator(data_dir=tmp_path / "emulator", api_key="sk-the-right-key") as emulator:
        task = UploadJSONLFileTask("up", OpenAIFileConfig(SECRET, base_url=emulator.base_url))
        with pytest.raises(TransferError) as raised:
            task(jsonl_in=JSONLFile(str(path)))
        assert "HTTP 401" in str(raised.value)
        assert wrong not in str(raised.value)
        client = openai.OpenAI(base_url=emulator.base_url, api_key=emulator.api_key)
        assert file_ids(client) == set()
