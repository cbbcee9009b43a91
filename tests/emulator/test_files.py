"""The Files API through the official SDK over real HTTP."""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest
from openai.types import FileDeleted, FileObject

from openai_batch_emulator import Emulator

from .helpers import chat_line, jsonl, upload


def test_upload_retrieve_download_delete(openai_client: openai.OpenAI) -> None:
    payload = jsonl([chat_line("a"), chat_line("b")])
    before = int(time.time())
    raw = openai_client.files.with_raw_response.create(file=("requests.jsonl", payload), purpose="batch")
    created = FileObject.model_validate(raw.http_response.json())
    assert created.id.startswith("file-")
    assert (created.object, created.purpose, created.filename, created.bytes) == (
        "file",
        "batch",
        "requests.jsonl",
        len(payload),
    )
    assert created.status == "processed"
    assert before <= created.created_at <= time.time()
    # Batch files expire after 30 days unless told otherwise.
    assert created.expires_at == created.created_at + 30 * 24 * 3600

    assert openai_client.files.retrieve(created.id) == created
    assert openai_client.files.content(created.id).read() == payload

    deleted = openai_client.files.with_raw_response.delete(created.id)
    assert FileDeleted.model_validate(deleted.http_response.json()) == FileDeleted(
        id=created.id, object="file", deleted=True
    )
    for call in (openai_client.files.retrieve, openai_client.files.content, openai_client.files.delete):
        with pytest.raises(openai.NotFoundError) as caught:
            call(created.id)
        assert caught.value.body == {
            "message": f"No such File object: {created.id}",
            "type": "invalid_request_error",
            "param": "id",
            "code": None,
        }


def test_expires_after_is_honoured(openai_client: openai.OpenAI) -> None:
    made = openai_client.files.create(
        file=("notes.txt", b"x"), purpose="user_data", expires_after={"anchor": "created_at", "seconds": 3600}
    )
    assert made.expires_at == made.created_at + 3600
    forever = openai_client.files.create(file=("notes.txt", b"x"), purpose="user_data")
    assert forever.expires_at is None


@pytest.mark.parametrize(
    ("name", "purpose", "message"),
    [
        ("requests.jsonl", "bogus", "Invalid value: 'bogus'"),
        ("requests.csv", "batch", "Invalid file format for Batch API. Must be .jsonl"),
    ],
)
def test_upload_rejects_bad_purpose_or_format(
    openai_client: openai.OpenAI, name: str, purpose: str, message: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.files.create(file=(name, b"{}\n"), purpose=purpose)  # type: ignore[arg-type]
    assert message in caught.value.message
    assert openai_client.files.list().data == []  # nothing half-stored


def test_upload_without_file_or_purpose_is_a_400(emulator: Emulator) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    url = f"{emulator.base_url}/files"
    no_file = httpx.post(url, headers=headers, data={"purpose": "batch"}, files={"other": ("", b"")})
    assert no_file.status_code == 400
    no_purpose = httpx.post(url, headers=headers, files={"file": ("a.jsonl", b"{}\n")})
    assert no_purpose.status_code == 400
    assert no_purpose.json()["error"]["param"] == "purpose"
    not_multipart = httpx.post(url, headers=headers, json={"purpose": "batch"})
    assert not_multipart.status_code == 400
    assert set(not_multipart.json()["error"]) == {"message", "type", "param", "code"}


def test_list_filters_orders_and_paginates(openai_client: openai.OpenAI) -> None:
    batch_files = [upload(openai_client, [chat_line(str(i))], name=f"r{i}.jsonl") for i in range(5)]
    other = openai_client.files.create(file=("notes.txt", b"hi"), purpose="user_data")

    newest_first = [f.id for f in openai_client.files.list().data]
    assert newest_first == [other.id] + [f.id for f in reversed(batch_files)]
    oldest_first = openai_client.files.list(order="asc").data
    assert [f.id for f in oldest_first] == list(reversed(newest_first))

    only_batch = openai_client.files.list(purpose="batch")
    assert [f.id for f in only_batch.data] == [f.id for f in reversed(batch_files)]

    page = openai_client.files.list(purpose="batch", limit=2, order="asc")
    assert [f.id for f in page.data] == [batch_files[0].id, batch_files[1].id]
    assert page.has_more is True
    assert page.model_extra == {"object": "list", "first_id": batch_files[0].id, "last_id": batch_files[1].id}
    # The SDK follows `after` cursors by itself.
    assert [f.id for f in page] == [f.id for f in batch_files]
    last = openai_client.files.list(purpose="batch", limit=2, order="asc", after=batch_files[3].id)
    assert ([f.id for f in last.data], last.has_more) == ([batch_files[4].id], False)

    with pytest.raises(openai.BadRequestError):
        openai_client.files.list(limit=0)
    with pytest.raises(openai.BadRequestError):
        openai_client.files.list(after="file-unknown")


def test_large_upload_streams_to_disk_intact(openai_client: openai.OpenAI, tmp_path: Path) -> None:
    source = tmp_path / "big.jsonl"
    line = jsonl([chat_line("x" * 40, text="y" * 900)])
    with source.open("wb") as handle:
        for _ in range(24 * 1024 * 1024 // len(line)):
            handle.write(line)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    with source.open("rb") as handle:
        made = openai_client.files.create(file=handle, purpose="batch")
    assert made.bytes == os.path.getsize(source)
    with openai_client.files.with_streaming_response.content(made.id) as response:
        streamed = hashlib.sha256()
        for chunk in response.iter_bytes():
            streamed.update(chunk)
    assert streamed.hexdigest() == digest


def test_upload_over_the_size_limit_is_refused(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    emulator.configure(max_upload_bytes=1000)
    with pytest.raises(openai.BadRequestError, match="too large"):
        openai_client.files.create(file=("big.jsonl", b"x" * 1001), purpose="batch")
    assert openai_client.files.create(file=("ok.jsonl", b"x" * 1000), purpose="batch").bytes == 1000


def test_concurrent_uploads_all_land(openai_client: openai.OpenAI) -> None:
    with ThreadPoolExecutor(8) as pool:
        made = list(
            pool.map(lambda i: upload(openai_client, [chat_line(str(i))], name=f"{i}.jsonl"), range(24))
        )
    listed = {f.id for f in openai_client.files.list().data}
    assert listed == {f.id for f in made}
    assert len(listed) == 24


@pytest.mark.anyio
async def test_async_client_round_trip(async_openai_client: openai.AsyncOpenAI) -> None:
    client = async_openai_client
    made = await client.files.create(file=("a.jsonl", jsonl([chat_line("a")])), purpose="batch")
    assert (await client.files.retrieve(made.id)).id == made.id
    assert (await client.files.content(made.id)).read() == jsonl([chat_line("a")])
    assert [f.id async for f in client.files.list()] == [made.id]
    assert (await client.files.delete(made.id)).deleted is True
    with pytest.raises(openai.NotFoundError):
        await client.files.retrieve(made.id)
