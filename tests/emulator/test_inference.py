"""The synchronous model endpoints, through the openai SDK: the batch responders, auth, faults, errors."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from openai_batch_emulator import Emulator
from openai_batch_emulator.answers.vectors import embedding_vector

from .helpers import chat_line, fast, start_batch, wait
from .test_contract import conforms


def test_chat_completion_echoes_the_last_user_message(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "first"},
            {"role": "user", "content": "What is Flyte?"},
        ],
    )
    assert completion.choices[0].message.content == "Echo: What is Flyte?"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gpt-4o-mini"
    assert completion.usage is not None
    assert completion.usage.total_tokens > 0
    assert completion._request_id is not None


def test_the_same_request_gets_the_same_answer_alone_and_in_a_batch(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    body = chat_line("one", "same question", max_tokens=3)["body"]
    alone = openai_client.chat.completions.create(**body)
    again = openai_client.chat.completions.create(**body)
    assert alone.id == again.id
    assert alone.choices == again.choices

    fast(emulator)
    batch = wait(
        openai_client, start_batch(openai_client, [chat_line("one", "same question", max_tokens=3)]).id
    )
    assert batch.output_file_id is not None
    [line] = openai_client.files.content(batch.output_file_id).text.splitlines()
    in_batch = json.loads(line)["response"]["body"]
    assert in_batch["choices"] == alone.to_dict(mode="json")["choices"]
    assert alone.choices[0].finish_reason == "length"


def test_embeddings_are_the_batch_vectors(openai_client: openai.OpenAI) -> None:
    answer = openai_client.embeddings.create(
        model="text-embedding-3-small", input=["a", "b"], dimensions=8, encoding_format="float"
    )
    assert [item.embedding for item in answer.data] == [
        embedding_vector("text-embedding-3-small", text, 8) for text in ("a", "b")
    ]


def test_answers_follow_openais_schemas(emulator: Emulator) -> None:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    with httpx.Client(base_url=emulator.base_url, headers=headers) as api:
        chat = api.post("/chat/completions", json=chat_line("x")["body"])
        embedding = api.post("/embeddings", json={"model": "text-embedding-3-small", "input": "x"})
        moderation = api.post("/moderations", json={"model": "omni-moderation-latest", "input": "x"})
        unknown = api.post("/chat/completions", json=chat_line("x", model="no-such-model")["body"])
    conforms("CreateChatCompletionResponse", chat.json())
    conforms("CreateEmbeddingResponse", embedding.json())
    conforms("CreateModerationResponse", moderation.json())
    assert unknown.status_code == 404
    conforms("ErrorResponse", unknown.json())


def test_request_errors_have_openais_shape(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="does not exist") as unknown:
        openai_client.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "hi"}]
        )
    assert unknown.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError, match="messages") as no_messages:
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[])
    assert no_messages.value.code == "missing_required_parameter"
    with pytest.raises(openai.BadRequestError, match="does not stream"):
        openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    headers = {"Authorization": f"Bearer {emulator.api_key}", "Content-Type": "application/json"}
    for raw in (b"{not json", b"[1, 2]"):
        answer = httpx.post(f"{emulator.base_url}/chat/completions", content=raw, headers=headers)
        assert answer.status_code == 400
        assert answer.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.slow
def test_a_wrong_key_is_refused(tmp_path_factory: pytest.TempPathFactory) -> None:
    with Emulator(data_dir=tmp_path_factory.mktemp("emu"), api_key="sk-the-right-one") as emu:
        wrong = openai.OpenAI(base_url=emu.base_url, api_key="sk-fake-wrong-key", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as refused:
            wrong.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        assert refused.value.code == "invalid_api_key"
        assert "sk-fake-wrong-key" not in str(refused.value)
        assert emu.client().embeddings.create(model="text-embedding-3-small", input="x").data


def test_injected_faults_reach_the_sdk(emulator: Emulator) -> None:
    emulator.inject_fault("POST", "/chat/completions", status=503, count=1)
    emulator.inject_fault("POST", "/v1/chat/completions", status="drop", count=1)
    emulator.inject_fault("POST", "/embeddings", status=429, count=1, retry_after=0)
    client = emulator.client(max_retries=2)
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "after two faults"}]
    )
    assert completion.choices[0].message.content == "Echo: after two faults"
    assert client.embeddings.create(model="text-embedding-3-small", input="x").data
    assert emulator.inject_fault("POST", "/chat/completions", status=500, count=5)
    with pytest.raises(openai.InternalServerError):
        emulator.client(max_retries=1).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
