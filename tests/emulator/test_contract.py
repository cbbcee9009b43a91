"""The emulator's JSON answers against the schemas of OpenAI's API description (openai_schemas.yaml)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from openai_batch_emulator import Emulator

from .helpers import chat_line, fast, jsonl, wait

SCHEMAS = Path(__file__).with_name("openai_schemas.yaml")
BASE = "urn:openai-schemas"
# The description types these as plain strings/integers, but the live API (and the SDK's Optional
# fields) send null until they are known; null is dropped before validating them.
NULLABLE_IN_PRACTICE = {
    "OpenAIFile": {"expires_at", "status_details"},
    "Batch": {
        "model",
        "errors",
        "output_file_id",
        "error_file_id",
        "in_progress_at",
        "finalizing_at",
        "completed_at",
        "failed_at",
        "expired_at",
        "cancelling_at",
        "cancelled_at",
    },
}


@cache
def _registry() -> Registry:
    document = yaml.safe_load(SCHEMAS.read_text())
    return Registry().with_resource(BASE, DRAFT202012.create_resource(document))


def _without_known_nulls(name: str, instance: Any) -> Any:
    if name in ("ListFilesResponse", "ListBatchesResponse"):
        item = "OpenAIFile" if name == "ListFilesResponse" else "Batch"
        return {**instance, "data": [_without_known_nulls(item, x) for x in instance["data"]]}
    nullable = NULLABLE_IN_PRACTICE.get(name, set())
    return {k: v for k, v in instance.items() if not (v is None and k in nullable)}


def conforms(name: str, instance: Any) -> None:
    schema = {"$ref": f"{BASE}#/components/schemas/{name}"}
    validator = jsonschema.Draft202012Validator(schema, registry=_registry())
    errors = sorted(validator.iter_errors(_without_known_nulls(name, instance)), key=str)
    assert not errors, f"{name}: " + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


@pytest.fixture
def api(emulator: Emulator) -> Iterator[httpx.Client]:
    fast(emulator, fail_custom_ids="^fail", requests_per_second=200)
    with httpx.Client(
        base_url=emulator.base_url, headers={"Authorization": f"Bearer {emulator.api_key}"}
    ) as client:
        yield client


def _upload(api: httpx.Client, lines: list[Any]) -> dict[str, Any]:
    response = api.post("/files", files={"file": ("requests.jsonl", jsonl(lines))}, data={"purpose": "batch"})
    assert response.status_code == 200, response.text
    return response.json()


def _batch(api: httpx.Client, file_id: str, endpoint: str = "/v1/chat/completions") -> dict[str, Any]:
    response = api.post(
        "/batches",
        json={
            "input_file_id": file_id,
            "endpoint": endpoint,
            "completion_window": "24h",
            "metadata": {"a": "b"},
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def _until_final(api: httpx.Client, emulator: Emulator, batch_id: str) -> dict[str, Any]:
    with emulator.client() as client:
        wait(client, batch_id)
    return api.get(f"/batches/{batch_id}").json()


def test_file_answers(api: httpx.Client) -> None:
    made = _upload(api, [chat_line("a")])
    conforms("OpenAIFile", made)
    conforms("OpenAIFile", api.get(f"/files/{made['id']}").json())
    conforms("ListFilesResponse", api.get("/files", params={"limit": 1}).json())
    conforms("DeleteFileResponse", api.delete(f"/files/{made['id']}").json())


def test_batch_answers_in_every_final_state(api: httpx.Client, emulator: Emulator) -> None:
    source = _upload(api, [chat_line("ok"), chat_line("fail-1")])
    created = _batch(api, source["id"])
    conforms("Batch", created)
    completed = _until_final(api, emulator, created["id"])
    assert completed["status"] == "completed"
    assert completed["error_file_id"]
    conforms("Batch", completed)

    failed = _until_final(api, emulator, _batch(api, _upload(api, ["{nope"])["id"])["id"])
    assert failed["status"] == "failed"
    conforms("Batch", failed)

    emulator.configure(requests_per_second=0)
    held = _batch(api, source["id"])
    cancelling = api.post(f"/batches/{held['id']}/cancel").json()
    conforms("Batch", cancelling)
    cancelled = _until_final(api, emulator, held["id"])
    assert cancelled["status"] == "cancelled"
    conforms("Batch", cancelled)

    emulator.configure(completion_window_seconds=0.1)
    expired = _until_final(api, emulator, _batch(api, source["id"])["id"])
    assert expired["status"] == "expired"
    conforms("Batch", expired)

    listing = api.get("/batches", params={"limit": 3}).json()
    assert listing["has_more"] is True
    conforms("ListBatchesResponse", listing)


@pytest.mark.parametrize(
    ("endpoint", "body", "schema"),
    [
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "hi"}]},
            "CreateChatCompletionResponse",
        ),
        ("/v1/completions", {"prompt": "hi"}, "CreateCompletionResponse"),
        ("/v1/embeddings", {"input": ["hi", "there"], "dimensions": 4}, "CreateEmbeddingResponse"),
        ("/v1/moderations", {"input": "hi"}, "CreateModerationResponse"),
    ],
)
def test_result_lines(
    api: httpx.Client, emulator: Emulator, endpoint: str, body: dict[str, Any], schema: str
) -> None:
    model = {
        "/v1/chat/completions": "gpt-4o-mini",
        "/v1/completions": "gpt-3.5-turbo-instruct",
        "/v1/embeddings": "text-embedding-3-small",
        "/v1/moderations": "omni-moderation-latest",
    }[endpoint]
    lines = [
        {"custom_id": cid, "method": "POST", "url": endpoint, "body": {"model": model, **body}}
        for cid in ("ok", "fail-1")
    ]
    done = _until_final(api, emulator, _batch(api, _upload(api, lines)["id"], endpoint)["id"])
    [ok] = [json.loads(x) for x in api.get(f"/files/{done['output_file_id']}/content").text.splitlines()]
    [failed] = [json.loads(x) for x in api.get(f"/files/{done['error_file_id']}/content").text.splitlines()]
    conforms(schema, ok["response"]["body"])
    conforms("ErrorResponse", failed["response"]["body"])


def test_error_answers(api: httpx.Client, emulator: Emulator) -> None:
    answers = [
        api.get("/files/file-nope"),
        api.post("/batches", json={"endpoint": "/v1/chat/completions"}),
        api.get("/nowhere"),
        httpx.get(f"{emulator.base_url}/files"),
    ]
    emulator.inject_fault("GET", "/batches", status=429, retry_after=1)
    answers.append(api.get("/batches"))
    assert [a.status_code for a in answers] == [404, 400, 404, 401, 429]
    for answer in answers:
        conforms("ErrorResponse", answer.json())
