"""The whole chain, upload -> batch -> download, through `create_batch` workflows run locally.

Each workflow runs the upload task's executor, the registered connector (create, then get until a
terminal phase, through flytekit's local connector executor) and the download task's executor, all
talking HTTP through the official SDK to the recorded server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flytekit.types.file import JSONLFile
from vcr.cassette import Cassette

from flytekitplugins.openai import BatchResult, create_batch
from integration.support.chain import (
    FILE_SECRET,
    IMAGE,
    chat_requests,
    embedding_requests,
    iterate,
    read_jsonl,
    write_jsonl,
)
from integration.support.target import Target

pytestmark = [pytest.mark.vcr, pytest.mark.block_network]


def _workflow(target: Target, name: str, **options: Any) -> Any:
    return create_batch(
        name=name,
        secret=FILE_SECRET,
        is_json_iterator=False,
        container_image=IMAGE,
        base_url=target.base_url,
        **options,
    )


def test_chat_completions_succeed(target: Target, tmp_path: Path) -> None:
    workflow = _workflow(target, "integration.chat", config={"endpoint": "/v1/chat/completions"})
    requests = write_jsonl(tmp_path / "requests.jsonl", chat_requests(3))
    result = workflow(jsonl_in=JSONLFile(str(requests)))

    assert isinstance(result, BatchResult)
    assert result.error_file is None
    assert result.output_file is not None
    lines = read_jsonl(result.output_file.download())
    assert sorted(line["custom_id"] for line in lines) == ["chat-0", "chat-1", "chat-2"]
    for line in lines:
        assert line["response"]["status_code"] == 200
        assert line["response"]["body"]["choices"][0]["message"]["content"]


def test_chat_completions_from_an_iterator_succeed(target: Target) -> None:
    workflow = create_batch(
        name="integration.iterator",
        secret=FILE_SECRET,
        config={"endpoint": "/v1/chat/completions"},
        container_image=IMAGE,
        base_url=target.base_url,
    )
    # A generator: flytekit streams it into the JSONL file that the upload task sends.
    result = workflow(jsonl_in=iterate(chat_requests(2, prefix="gen")))

    assert result.error_file is None
    assert result.output_file is not None
    assert sorted(line["custom_id"] for line in read_jsonl(result.output_file.download())) == [
        "gen-0",
        "gen-1",
    ]


def test_embeddings_succeed(target: Target, tmp_path: Path) -> None:
    workflow = _workflow(target, "integration.embed", config={"endpoint": "/v1/embeddings"})
    requests = write_jsonl(tmp_path / "embeddings.jsonl", embedding_requests(4))
    result = workflow(jsonl_in=JSONLFile(str(requests)))

    assert result.error_file is None
    assert result.output_file is not None
    lines = read_jsonl(result.output_file.download())
    assert sorted(line["custom_id"] for line in lines) == [f"embed-{i}" for i in range(4)]
    for line in lines:
        vector = line["response"]["body"]["data"][0]["embedding"]
        assert len(vector) == 32
        assert all(isinstance(x, float) for x in vector)


# Two requests are answered before the (shortened) completion window closes; four are not.
@pytest.mark.emulator("a completion window of 1.6 s", requests_per_second=2, completion_window_seconds=1.6)
def test_expired_batch_yields_its_partial_results(target: Target, tmp_path: Path) -> None:
    workflow = _workflow(
        target,
        "integration.expired",
        config={"endpoint": "/v1/chat/completions"},
        accept_partial_results=True,
    )
    requests = write_jsonl(tmp_path / "requests.jsonl", chat_requests(6))
    result = workflow(jsonl_in=JSONLFile(str(requests)))

    assert result.output_file is not None
    answered = read_jsonl(result.output_file.download())
    # Each expired batch's answers are kept and its unanswered requests sent again (the recording's
    # batches expire after two answers): three rounds answer everything.
    assert [(line["custom_id"], line["attempts"]) for line in answered] == [
        ("chat-0", 1),
        ("chat-1", 1),
        ("chat-2", 2),
        ("chat-3", 2),
        ("chat-4", 3),
        ("chat-5", 3),
    ]
    assert result.error_file is None


@pytest.mark.emulator("injected 429 and 500 answers")
def test_transient_429_and_500_are_retried(target: Target, vcr: Cassette, tmp_path: Path) -> None:
    # Upload: the SDK retries (honouring Retry-After). Create: the connector retries within its
    # deadline. Poll (the job connector lists its batches): it answers RUNNING and asks again.
    # Download: the SDK retries.
    target.inject_fault("POST", "/v1/files", status=429, count=1, retry_after=0.05)
    target.inject_fault("POST", "/v1/files", status=500, count=1)
    target.inject_fault("POST", "/v1/batches", status=500, count=1)
    target.inject_fault("GET", "/v1/batches", status=429, count=1, retry_after=0.05)
    target.inject_fault("GET", "/v1/files/", status=500, count=1)
    workflow = _workflow(target, "integration.faults", config={"endpoint": "/v1/chat/completions"})
    requests = write_jsonl(tmp_path / "requests.jsonl", chat_requests(2))
    result = workflow(jsonl_in=JSONLFile(str(requests)))

    assert result.output_file is not None
    assert sorted(line["custom_id"] for line in read_jsonl(result.output_file.download())) == [
        "chat-0",
        "chat-1",
    ]
    answers = [
        (request.method, request.path, response["status"]["code"])
        for request, response in zip(vcr.requests, vcr.responses, strict=True)
    ]
    failed = [answer for answer in answers if answer[2] >= 400]
    assert [(method, code) for method, _, code in failed] == [
        ("GET", 429),  # the local run's check that the connector's key is accepted, before the upload
        ("POST", 429),  # upload
        ("POST", 500),  # upload
        ("POST", 500),  # create
        ("GET", 500),  # download
    ]
    # Every fault was followed by a successful repeat of the same call.
    for method, path, _ in failed:
        assert (method, path, 200) in answers
