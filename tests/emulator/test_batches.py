"""The Batch API lifecycle through the official SDK over real HTTP."""

from __future__ import annotations

import base64
import functools
import json
import time
from typing import Any

import openai
import pytest
from openai.types import (
    Batch,
    Completion,
    CreateEmbeddingResponse,
    ImagesResponse,
    ModerationCreateResponse,
    Video,
)
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from openai_batch_emulator import Emulator
from tests.support.waiting import wait_until

from .helpers import chat_line, fast, read_lines, start_batch, upload, wait


def test_lifecycle_to_completed(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    # In progress for 1.2 s: long enough for a poll to see it on a slow machine.
    fast(emulator, validating_seconds=0.3, requests_per_second=5)
    lines = [chat_line(f"req-{i}", text=f"question {i}") for i in range(6)]
    raw = openai_client.batches.with_raw_response.create(
        input_file_id=upload(openai_client, lines).id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"dedup": "abc", "owner": "tests"},
    )
    created = Batch.model_validate(raw.http_response.json())
    assert created.status == "validating"
    assert created.request_counts is not None
    assert created.request_counts.total == 0
    assert created.errors is None
    assert created.output_file_id is None
    assert created.error_file_id is None
    assert created.metadata == {"dedup": "abc", "owner": "tests"}
    assert created.expires_at == created.created_at + 24 * 3600

    seen = {wait(openai_client, created.id, ("in_progress",)).status}
    done = wait(openai_client, created.id)
    seen.add(done.status)
    assert seen == {"in_progress", "completed"}
    assert done.request_counts is not None
    assert done.request_counts.model_dump() == {"total": 6, "completed": 6, "failed": 0}
    assert done.model == "gpt-4o-mini"
    assert done.metadata == {"dedup": "abc", "owner": "tests"}
    assert done.error_file_id is None
    assert done.errors is None
    stamps = [done.created_at, done.in_progress_at, done.finalizing_at, done.completed_at]
    assert all(s is not None for s in stamps)
    assert stamps == sorted(stamps)  # type: ignore[type-var]
    assert done.failed_at is done.expired_at is done.cancelling_at is done.cancelled_at is None
    assert done.usage is not None
    assert done.usage.total_tokens == done.usage.input_tokens + done.usage.output_tokens > 0

    output = openai_client.files.retrieve(done.output_file_id or "")
    assert (output.purpose, output.filename) == ("batch_output", f"{done.id}_output.jsonl")
    results = read_lines(openai_client, done.output_file_id)
    assert [r["custom_id"] for r in results] == [f"req-{i}" for i in range(6)]
    for i, result in enumerate(results):
        assert set(result) == {"id", "custom_id", "response", "error"}
        assert result["id"].startswith("batch_req_")
        assert result["error"] is None
        assert result["response"]["status_code"] == 200
        assert result["response"]["request_id"].startswith("req_")
        completion = ChatCompletion.model_validate(result["response"]["body"])
        assert completion.choices[0].message.content == f"Echo: question {i}"
        assert completion.usage is not None
        assert completion.usage.total_tokens > 0


def _bodies(endpoint: str) -> list[dict[str, Any]]:
    bodies: dict[str, list[dict[str, Any]]] = {
        "/v1/chat/completions": [
            {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "n": 2}
        ],
        "/v1/completions": [{"model": "gpt-3.5-turbo-instruct", "prompt": ["a", "b"], "max_tokens": 1}],
        "/v1/embeddings": [
            {"model": "text-embedding-3-small", "input": ["same", "same", "other"]},
            {"model": "text-embedding-3-small", "input": "same", "dimensions": 8},
        ],
        "/v1/responses": [
            {"model": "gpt-4.1", "input": [{"role": "user", "content": "hi"}], "instructions": "be"}
        ],
        "/v1/moderations": [{"model": "omni-moderation-latest", "input": ["fine", "text"]}],
        "/v1/images/generations": [
            {"model": "gpt-image-1", "prompt": "a red fox", "n": 2, "size": "1024x1024"}
        ],
        "/v1/images/edits": [{"model": "gpt-image-1", "prompt": "make it blue", "image": "file-abc"}],
        "/v1/videos": [{"model": "sora-2", "prompt": "a fox running", "seconds": "8", "size": "1280x720"}],
    }
    return bodies[endpoint]


PARSERS: dict[str, Any] = {
    "/v1/chat/completions": ChatCompletion,
    "/v1/completions": Completion,
    "/v1/embeddings": CreateEmbeddingResponse,
    "/v1/responses": Response,
    "/v1/moderations": ModerationCreateResponse,
    "/v1/images/generations": ImagesResponse,
    "/v1/images/edits": ImagesResponse,
    "/v1/videos": Video,
}


@pytest.mark.parametrize("endpoint", list(PARSERS))
def test_each_endpoint_answers_sdk_shaped_bodies(
    emulator: Emulator, openai_client: openai.OpenAI, endpoint: str
) -> None:
    fast(emulator)
    lines = [
        {"custom_id": f"c{i}", "method": "POST", "url": endpoint, "body": body}
        for i, body in enumerate(_bodies(endpoint))
    ]
    done = wait(openai_client, start_batch(openai_client, lines, endpoint=endpoint).id)
    assert done.status == "completed", done.errors
    parsed = [
        PARSERS[endpoint].model_validate(r["response"]["body"])
        for r in read_lines(openai_client, done.output_file_id)
    ]
    assert len(parsed) == len(lines)
    if endpoint == "/v1/chat/completions":
        assert [c.index for c in parsed[0].choices] == [0, 1]
    if endpoint == "/v1/completions":
        assert [(c.text, c.finish_reason) for c in parsed[0].choices] == [
            ("Echo", "length"),
            ("Echo", "length"),
        ]
    if endpoint == "/v1/embeddings":
        first, second = parsed
        vectors = [d.embedding for d in first.data]
        assert vectors[0] == vectors[1] != vectors[2]  # deterministic, input-dependent
        assert len(vectors[0]) == 1536
        assert abs(sum(x * x for x in vectors[0]) - 1) < 1e-6
        assert len(second.data[0].embedding) == 8
    if endpoint == "/v1/responses":
        assert parsed[0].output_text == "Echo: hi"
        assert parsed[0].usage is not None
        assert parsed[0].usage.total_tokens > 0
    if endpoint == "/v1/moderations":
        assert [r.flagged for r in parsed[0].results] == [False, False]
    if endpoint.startswith("/v1/images/"):
        images = parsed[0].data
        assert images
        assert all(base64.b64decode(i.b64_json or "").startswith(b"\x89PNG") for i in images)
        assert len(images) == (2 if endpoint.endswith("generations") else 1)
        assert parsed[0].usage is not None
        assert parsed[0].usage.output_tokens > 0
    if endpoint == "/v1/videos":
        assert (parsed[0].status, parsed[0].seconds, parsed[0].size) == ("queued", "8", "1280x720")


def test_every_endpoint_the_sdk_accepts_for_a_batch_is_answered() -> None:
    import typing

    from openai.types import batch_create_params

    from openai_batch_emulator.answers.responders import RESPONDERS

    hint = typing.get_type_hints(batch_create_params.BatchCreateParams)["endpoint"]
    while typing.get_origin(hint) is not typing.Literal:  # Required[Literal[...]]
        (hint,) = typing.get_args(hint)
    assert set(typing.get_args(hint)) == set(RESPONDERS) == set(PARSERS)


def test_response_options_are_honoured(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    fast(emulator)
    lines = [
        chat_line("json", text="hi", response_format={"type": "json_object"}),
        chat_line("short", text="a long question", max_completion_tokens=2),
        {
            "custom_id": "parts",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": [{"type": "text", "text": "parts"}]}],
            },
        },
    ]
    done = wait(openai_client, start_batch(openai_client, lines).id)
    replies = {
        r["custom_id"]: ChatCompletion.model_validate(r["response"]["body"])
        for r in read_lines(openai_client, done.output_file_id)
    }
    assert json.loads(replies["json"].choices[0].message.content or "") == {"echo": "hi"}
    assert (replies["short"].choices[0].message.content, replies["short"].choices[0].finish_reason) == (
        "Echo: a ",
        "length",
    )
    assert replies["parts"].choices[0].message.content == "Echo: parts"


def test_result_lines_are_compact_utf8(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    fast(emulator)
    done = wait(openai_client, start_batch(openai_client, [chat_line("é", text="héllo wörld")]).id)
    raw = openai_client.files.content(done.output_file_id or "").read()
    assert raw.endswith(b"}\n")
    assert raw.count(b"\n") == 1
    assert b'"custom_id":"\xc3\xa9"' in raw
    assert "Echo: héllo wörld".encode() in raw


def test_base64_embeddings_decode_to_the_float_vectors(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    import base64
    import struct

    fast(emulator)
    body = {"model": "text-embedding-3-small", "input": "same", "dimensions": 4}
    lines = [
        {"custom_id": "floats", "method": "POST", "url": "/v1/embeddings", "body": body},
        {
            "custom_id": "b64",
            "method": "POST",
            "url": "/v1/embeddings",
            "body": {**body, "encoding_format": "base64"},
        },
    ]
    done = wait(openai_client, start_batch(openai_client, lines, endpoint="/v1/embeddings").id)
    floats, b64 = (
        r["response"]["body"]["data"][0]["embedding"] for r in read_lines(openai_client, done.output_file_id)
    )
    decoded = struct.unpack("<4f", base64.b64decode(b64))
    assert decoded == pytest.approx(floats, abs=1e-6)


def test_answers_are_deterministic(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    fast(emulator)
    lines = [chat_line("same", text="same question")]
    first, second = (wait(openai_client, start_batch(openai_client, lines).id) for _ in range(2))
    one, two = (read_lines(openai_client, b.output_file_id)[0]["response"]["body"] for b in (first, second))
    assert one["choices"] == two["choices"]
    assert one["usage"] == two["usage"]


def test_failed_requests_go_to_the_error_file(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    fast(emulator, fail_custom_ids=r"^boom-")
    lines = [
        chat_line("ok-1"),
        chat_line("boom-1"),
        chat_line("ok-2"),
        {
            "custom_id": "no-messages",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini"},
        },
        chat_line("boom-2"),
    ]
    done = wait(openai_client, start_batch(openai_client, lines).id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert done.request_counts.model_dump() == {"total": 5, "completed": 2, "failed": 3}
    assert [r["custom_id"] for r in read_lines(openai_client, done.output_file_id)] == ["ok-1", "ok-2"]
    errors = {r["custom_id"]: r for r in read_lines(openai_client, done.error_file_id)}
    assert list(errors) == ["boom-1", "no-messages", "boom-2"]
    assert errors["boom-1"]["response"]["status_code"] == 500
    assert errors["boom-1"]["response"]["body"]["error"]["type"] == "server_error"
    assert errors["no-messages"]["response"]["status_code"] == 400
    assert errors["no-messages"]["response"]["body"]["error"]["param"] == "messages"
    for line in errors.values():
        assert line["error"] is None
        assert set(line["response"]["body"]["error"]) == {"message", "type", "param", "code"}
    assert openai_client.files.retrieve(done.error_file_id or "").purpose == "batch_output"


def test_unknown_model_fails_every_request(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    fast(emulator)
    lines = [chat_line(f"r{i}", model="my-imaginary-model") for i in range(3)]
    done = wait(openai_client, start_batch(openai_client, lines).id)
    assert done.status == "completed"
    assert done.output_file_id is None  # nothing succeeded, so no output file
    assert done.request_counts is not None
    assert done.request_counts.failed == 3
    errors = read_lines(openai_client, done.error_file_id)
    assert {e["response"]["status_code"] for e in errors} == {404}
    assert {e["response"]["body"]["error"]["code"] for e in errors} == {"model_not_found"}


VALID = chat_line("fine")


@pytest.mark.parametrize(
    ("settings", "count", "message"),
    [
        ({"max_requests": 3}, 4, "at most 3"),
        ({"max_input_bytes": 500}, 4, "at most 500 bytes"),
    ],
)
def test_size_limits_fail_the_batch(
    emulator: Emulator, openai_client: openai.OpenAI, settings: dict[str, int], count: int, message: str
) -> None:
    fast(emulator, **settings)
    done = wait(openai_client, start_batch(openai_client, [chat_line(str(i)) for i in range(count)]).id)
    assert done.status == "failed"
    assert done.errors is not None
    assert done.errors.data
    assert message in (done.errors.data[0].message or "")
    assert done.errors.data[0].code in ("too_many_tasks", "file_too_large")


def test_default_request_limit_is_50000(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    fast(emulator)
    line = json.dumps(chat_line("x")).encode()
    payload = b"".join(line.replace(b'"x"', f'"{i}"'.encode()) + b"\n" for i in range(50_001))
    source = openai_client.files.create(file=("many.jsonl", payload), purpose="batch")
    batch = openai_client.batches.create(
        input_file_id=source.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    done = wait(openai_client, batch.id)
    assert done.status == "failed"
    assert done.errors is not None
    assert done.errors.data is not None
    assert [(e.code, e.line) for e in done.errors.data] == [("too_many_tasks", None)]


def test_every_problem_of_a_bad_file_is_reported(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    fast(emulator)
    lines = ["oops", chat_line("a"), chat_line("a"), {**chat_line("b"), "method": "PUT"}]
    done = wait(openai_client, start_batch(openai_client, lines).id)
    assert done.errors is not None
    assert done.errors.data
    assert [(e.line, e.code) for e in done.errors.data] == [
        (1, "invalid_json_line"),
        (3, "duplicate_custom_id"),
        (4, "invalid_method"),
    ]


def _create(client: openai.OpenAI, **overrides: Any) -> Batch:
    body: dict[str, Any] = {"input_file_id": upload(client, [VALID]).id, "endpoint": "/v1/chat/completions"}
    body["completion_window"] = "24h"
    body.update(overrides)
    extra = {
        k: body.pop(k) for k in list(body) if k not in ("input_file_id", "endpoint", "completion_window")
    }
    return client.batches.create(**body, extra_body=extra or None)


@pytest.mark.parametrize(
    ("overrides", "error", "param"),
    [
        ({"completion_window": "48h"}, openai.BadRequestError, "completion_window"),
        ({"endpoint": "/v1/audio/speech"}, openai.BadRequestError, "endpoint"),
        ({"input_file_id": "file-doesnotexist"}, openai.NotFoundError, "input_file_id"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, openai.BadRequestError, "metadata"),
        ({"metadata": {"k": "v" * 513}}, openai.BadRequestError, "metadata.k"),
        ({"metadata": {"k": 1}}, openai.BadRequestError, "metadata.k"),
        (
            {"output_expires_after": {"anchor": "created_at", "seconds": 5}},
            openai.BadRequestError,
            "output_expires_after.seconds",
        ),
        ({"surprise": True}, openai.BadRequestError, "surprise"),
    ],
)
def test_create_rejects_bad_requests(
    openai_client: openai.OpenAI, overrides: dict[str, Any], error: type[openai.APIStatusError], param: str
) -> None:
    with pytest.raises(error) as caught:
        _create(openai_client, **overrides)
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["param"] == param
    assert openai_client.batches.list().data == []


def test_create_rejects_input_files_not_meant_for_batches(openai_client: openai.OpenAI) -> None:
    notes = openai_client.files.create(file=("requests.jsonl", b"{}\n"), purpose="user_data")
    with pytest.raises(openai.BadRequestError, match="purpose 'batch'"):
        openai_client.batches.create(
            input_file_id=notes.id, endpoint="/v1/chat/completions", completion_window="24h"
        )


def test_unknown_batch_is_a_404(openai_client: openai.OpenAI) -> None:
    for call in (openai_client.batches.retrieve, openai_client.batches.cancel):
        with pytest.raises(openai.NotFoundError):
            call("batch_nope")


def test_cancel_keeps_partial_results(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    # Cancelling lasts long enough that the second cancel below, however slow the machine, still
    # finds the batch cancelling.
    fast(emulator, requests_per_second=20, cancelling_seconds=5)
    lines = [chat_line(f"r{i}") for i in range(200)]
    batch = start_batch(openai_client, lines)
    wait_until(
        functools.partial(openai_client.batches.retrieve, batch.id),
        until=lambda b: b.request_counts is not None and b.request_counts.completed >= 3,
        what="three requests answered",
    )
    cancelling = openai_client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling"
    assert cancelling.cancelling_at is not None
    assert openai_client.batches.cancel(batch.id).status == "cancelling"  # asking twice is harmless
    done = wait(openai_client, batch.id)
    assert done.status == "cancelled"
    assert done.cancelled_at is not None
    assert done.completed_at is None
    assert done.request_counts is not None
    counts = done.request_counts
    assert 3 <= counts.completed < 200
    assert counts.failed == 0
    assert counts.total == 200
    results = read_lines(openai_client, done.output_file_id)
    assert [r["custom_id"] for r in results] == [f"r{i}" for i in range(counts.completed)]
    assert done.error_file_id is None
    with pytest.raises(openai.ConflictError, match="Cannot cancel a batch with status 'cancelled'"):
        openai_client.with_options(max_retries=0).batches.cancel(batch.id)


def test_cancel_while_validating_has_no_results(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    fast(emulator, validating_seconds=30)
    batch = start_batch(openai_client, [VALID])
    assert openai_client.batches.cancel(batch.id).status == "cancelling"
    done = wait(openai_client, batch.id)
    assert (done.status, done.output_file_id, done.error_file_id, done.in_progress_at) == (
        "cancelled",
        None,
        None,
        None,
    )


def test_cancel_while_finalizing_keeps_every_result(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    fast(emulator, finalizing_seconds=30)
    batch = wait(
        openai_client, start_batch(openai_client, [chat_line("a"), chat_line("b")]).id, ("finalizing",)
    )
    assert batch.finalizing_at is not None
    assert openai_client.batches.cancel(batch.id).status == "cancelling"
    done = wait(openai_client, batch.id)
    assert done.status == "cancelled"
    assert [r["custom_id"] for r in read_lines(openai_client, done.output_file_id)] == ["a", "b"]


def test_completed_batch_cannot_be_cancelled(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    fast(emulator)
    done = wait(openai_client, start_batch(openai_client, [VALID]).id)
    with pytest.raises(openai.ConflictError) as caught:
        openai_client.with_options(max_retries=0).batches.cancel(done.id)
    assert caught.value.status_code == 409
    assert openai_client.batches.retrieve(done.id).status == "completed"


def test_expiry_keeps_partial_results(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    fast(emulator, requests_per_second=10, completion_window_seconds=0.6)
    lines = [chat_line(f"r{i}") for i in range(50)]
    done = wait(openai_client, start_batch(openai_client, lines).id)
    assert done.status == "expired"
    assert done.expired_at is not None
    assert done.completed_at is None
    assert done.request_counts is not None
    counts = done.request_counts
    # 0.55 s of processing at 10 requests per second.
    assert counts.model_dump() == {"total": 50, "completed": 5, "failed": 45}
    answered = read_lines(openai_client, done.output_file_id)
    assert [r["custom_id"] for r in answered] == [f"r{i}" for i in range(5)]
    expired = read_lines(openai_client, done.error_file_id)
    assert [r["custom_id"] for r in expired] == [f"r{i}" for i in range(5, 50)]
    # OpenAI's documented line for a request an expired batch never ran.
    assert all(
        r["response"] is None
        and r["error"]
        == {
            "code": "batch_expired",
            "message": "This request could not be executed before the completion window expired.",
        }
        for r in expired
    )


def test_expiry_while_validating(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    fast(emulator, validating_seconds=5, completion_window_seconds=0.2)
    done = wait(openai_client, start_batch(openai_client, [VALID]).id)
    assert (done.status, done.output_file_id, done.error_file_id) == ("expired", None, None)


def test_held_batch_waits_until_cancelled(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    fast(emulator, requests_per_second=0)
    batch = wait(openai_client, start_batch(openai_client, [VALID]).id, ("in_progress",))
    time.sleep(0.3)
    assert openai_client.batches.retrieve(batch.id).status == "in_progress"
    openai_client.batches.cancel(batch.id)
    assert wait(openai_client, batch.id).status == "cancelled"


def test_list_paginates_newest_first(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    fast(emulator, validating_seconds=60)
    made = [start_batch(openai_client, [VALID], metadata={"n": str(i)}).id for i in range(5)]
    newest_first = list(reversed(made))
    page = openai_client.batches.list(limit=2)
    assert [b.id for b in page.data] == newest_first[:2]
    assert page.has_more is True
    assert page.model_extra == {"object": "list", "first_id": newest_first[0], "last_id": newest_first[1]}
    assert [b.id for b in page] == newest_first  # SDK auto-pagination follows `after`
    tail = openai_client.batches.list(limit=2, after=newest_first[3])
    assert ([b.id for b in tail.data], tail.has_more) == ([newest_first[4]], False)
    assert [b.id for b in openai_client.batches.list().data] == newest_first
    with pytest.raises(openai.BadRequestError):
        openai_client.batches.list(limit=101)


def test_output_expiry_policy_applies_to_result_files(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    fast(emulator)
    batch = start_batch(
        openai_client, [VALID], output_expires_after={"anchor": "created_at", "seconds": 7200}
    )
    done = wait(openai_client, batch.id)
    output = openai_client.files.retrieve(done.output_file_id or "")
    assert output.expires_at == output.created_at + 7200


def test_deleting_the_input_does_not_break_a_running_batch(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    fast(emulator, requests_per_second=50)
    batch = start_batch(openai_client, [chat_line(str(i)) for i in range(10)])
    openai_client.files.delete(batch.input_file_id)
    done = wait(openai_client, batch.id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert done.request_counts.completed == 10


@pytest.mark.anyio
async def test_async_client_lifecycle(emulator: Emulator) -> None:
    import anyio

    fast(emulator)
    async with emulator.async_client(max_retries=0) as client:
        source = await client.files.create(file=("r.jsonl", json.dumps(VALID).encode()), purpose="batch")
        batch = await client.batches.create(
            input_file_id=source.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        while batch.status not in ("completed", "failed"):
            await anyio.sleep(0.02)
            batch = await client.batches.retrieve(batch.id)
        assert batch.status == "completed"
        content = await client.files.content(batch.output_file_id or "")
        line = json.loads(content.text)
        assert (
            ChatCompletion.model_validate(line["response"]["body"]).choices[0].message.content
            == "Echo: hello"
        )
        assert [b.id async for b in client.batches.list()] == [batch.id]
        with pytest.raises(openai.ConflictError):
            await client.batches.cancel(batch.id)
