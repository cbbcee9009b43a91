"""Transient faults are retried with bounded backoff; persistent ones fail clearly and leave nothing behind."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from flytekit.types.file import JSONLFile

from flytekitplugins.openai.files import OpenAIFileConfig, TransferError, UploadJSONLFileTask
from openai_batch_jobs.api.client import make_client
from openai_batch_jobs.api.retry import TRANSFER
from openai_batch_jobs.files.download import download_file
from tests.files.conftest import SECRET, file_ids
from tests.files.cutting_proxy import CuttingProxy
from tests.files.requests import good_file, request, write_lines


def upload(path: Path, config: OpenAIFileConfig) -> str:
    return str(UploadJSONLFileTask("up", config)(jsonl_in=JSONLFile(str(path))))


def empty_folder(tmp_path: Path) -> Path:
    """A folder for a download, empty: what a failed download leaves there is checked."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def big_file(client: Any, tmp_path: Path) -> tuple[str, bytes]:
    """A ~2 MB file on the emulator, large enough to be cut mid-body."""
    path = write_lines(tmp_path / "big.jsonl", (request(i, messages="x" * 2000) for i in range(1000)))
    with open(path, "rb") as stream:
        return client.files.create(file=stream, purpose="batch").id, path.read_bytes()


def test_rate_limit_honours_retry_after(
    tmp_path: Path,
    emulator: Any,
    files_config: OpenAIFileConfig,
    openai_client: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.inject_fault("POST", "/v1/files", status=429, count=2, retry_after=0.3)
    caplog.set_level(logging.INFO, logger="openai")
    file_id = upload(good_file(tmp_path / "in.jsonl"), files_config)
    # The SDK's own account of each wait: the server's 0.3 s, not its jittered backoff.
    waits = re.findall(r"Retrying request.* in ([0-9.]+) seconds", caplog.text)
    assert [float(w) for w in waits] == [0.3, 0.3]
    assert file_ids(openai_client) == {file_id}


@pytest.mark.parametrize("status", [500, 502, 503, "drop"])
def test_upload_survives_a_transient_fault(
    tmp_path: Path, emulator: Any, files_config: OpenAIFileConfig, openai_client: Any, status: int | str
) -> None:
    emulator.inject_fault("POST", "/v1/files", status=status, count=2)
    path = good_file(tmp_path / "in.jsonl", n=20)
    file_id = upload(path, files_config)
    assert file_ids(openai_client) == {file_id}
    # The retried multipart body was re-read from the start, not sent half-consumed.
    assert openai_client.files.content(file_id).read() == path.read_bytes()


def test_upload_fails_clearly_after_the_retry_bound(
    tmp_path: Path, emulator: Any, api_key: str, openai_client: Any
) -> None:
    emulator.inject_fault("POST", "/v1/files", status=503, count=10)
    config = OpenAIFileConfig(SECRET, base_url=emulator.base_url, max_retries=1)
    with pytest.raises(TransferError, match=r"HTTP 503 \(after 1 retries\)"):
        upload(good_file(tmp_path / "in.jsonl"), config)
    assert file_ids(openai_client) == set()


@pytest.mark.parametrize("status", [502, "drop"])
def test_download_survives_faults_before_the_body(
    tmp_path: Path, emulator: Any, openai_client: Any, status: int | str
) -> None:
    file_id, content = big_file(openai_client, tmp_path)
    emulator.inject_fault("GET", f"/v1/files/{file_id}/content", status=status, count=2)
    client = make_client(emulator.api_key, base_url=emulator.base_url, retry=TRANSFER.with_retries(2))
    dest = empty_folder(tmp_path) / "result.jsonl"
    assert download_file(client, file_id, dest) == len(content)
    assert dest.read_bytes() == content


def test_download_fails_clearly_after_the_retry_bound(
    tmp_path: Path, emulator: Any, openai_client: Any
) -> None:
    file_id, _ = big_file(openai_client, tmp_path)
    emulator.inject_fault("GET", f"/v1/files/{file_id}/content", status=500, count=10)
    client = make_client(emulator.api_key, base_url=emulator.base_url, retry=TRANSFER.with_retries(1))
    dest = empty_folder(tmp_path) / "result.jsonl"
    with pytest.raises(
        TransferError, match=rf"Downloading file {file_id} failed: HTTP 500 \(after 1 retries\)"
    ):
        download_file(client, file_id, dest)
    assert list(dest.parent.iterdir()) == []


@pytest.mark.slow
def test_download_cut_mid_body_is_retried(
    tmp_path: Path, emulator: Any, openai_client: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    file_id, content = big_file(openai_client, tmp_path)
    with CuttingProxy(emulator.port) as proxy:
        proxy.cut(count=2, after_bytes=300_000)
        client = make_client(emulator.api_key, base_url=proxy.base_url(), retry=TRANSFER.with_retries(2))
        dest = empty_folder(tmp_path) / "result.jsonl"
        assert download_file(client, file_id, dest) == len(content)
        assert proxy.cuts_done == 2
    assert dest.read_bytes() == content
    assert sorted(p.name for p in dest.parent.iterdir()) == ["result.jsonl"]
    # Each retry is said on stderr, where pyflyte's default log level still shows it.
    err = capfd.readouterr().err
    assert f"WARNING: Downloading file {file_id} again (retry 1 of 2): connection lost after" in err
    assert f"WARNING: Downloading file {file_id} again (retry 2 of 2)" in err


def test_download_cut_every_time_fails_and_leaves_no_partial_file(
    tmp_path: Path, emulator: Any, openai_client: Any
) -> None:
    file_id, _ = big_file(openai_client, tmp_path)
    with CuttingProxy(emulator.port) as proxy:
        proxy.cut(count=10, after_bytes=300_000)
        client = make_client(emulator.api_key, base_url=proxy.base_url(), retry=TRANSFER.with_retries(1))
        dest = empty_folder(tmp_path) / "result.jsonl"
        with pytest.raises(
            TransferError, match=rf"Downloading file {file_id} failed after 1 retries: connection lost"
        ):
            download_file(client, file_id, dest)
        assert proxy.cuts_done == 2
    assert list(dest.parent.iterdir()) == []
