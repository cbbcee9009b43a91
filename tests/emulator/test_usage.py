"""Token usage in answers and on the batch, as OpenAI reports it, from the emulator's one estimate."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai.types import Completion, CreateEmbeddingResponse
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from openai_batch_emulator import Emulator

from .helpers import fast, read_lines, start_batch, wait

TEXT = "x" * 400  # about one token per four characters: 100 tokens

CASES: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "/v1/chat/completions": (
        "gpt-4o-mini",
        [
            {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": TEXT}]},
            {"messages": [{"role": "user", "content": [{"type": "text", "text": TEXT}]}], "n": 3},
        ],
    ),
    "/v1/completions": ("gpt-3.5-turbo-instruct", [{"prompt": TEXT}, {"prompt": [TEXT, "a"]}]),
    "/v1/embeddings": ("text-embedding-3-small", [{"input": TEXT}, {"input": [TEXT, TEXT, "abcd"]}]),
    "/v1/responses": (
        "gpt-4.1",
        [
            {"input": TEXT},
            {
                "input": [{"role": "user", "content": TEXT}, {"role": "user", "content": "a"}],
                "instructions": "be",
            },
        ],
    ),
}
# Estimated prompt tokens of each request above: 4 per message or input item plus its text.
PROMPTS = {
    "/v1/chat/completions": [(4 + 2) + (4 + 100), 4 + 100],
    "/v1/completions": [100, 100 + 1],
    "/v1/embeddings": [100, 100 + 100 + 1],
    "/v1/responses": [4 + 100, (4 + 100) + (4 + 1) + 1],
}


def _usage(endpoint: str, body: dict[str, Any]) -> tuple[int, int, int]:
    """(prompt, completion, total) tokens of one answer, read through the SDK's types."""
    if endpoint == "/v1/chat/completions":
        chat = ChatCompletion.model_validate(body).usage
        assert chat is not None
        return chat.prompt_tokens, chat.completion_tokens, chat.total_tokens
    if endpoint == "/v1/completions":
        text = Completion.model_validate(body).usage
        assert text is not None
        return text.prompt_tokens, text.completion_tokens, text.total_tokens
    if endpoint == "/v1/embeddings":
        vectors = CreateEmbeddingResponse.model_validate(body).usage
        assert "completion_tokens" not in body["usage"]
        return vectors.prompt_tokens, 0, vectors.total_tokens
    answer = Response.model_validate(body).usage
    assert answer is not None
    return answer.input_tokens, answer.output_tokens, answer.total_tokens


@pytest.mark.parametrize("endpoint", list(CASES))
def test_answers_report_usage_and_the_batch_sums_it(
    emulator: Emulator, openai_client: openai.OpenAI, endpoint: str
) -> None:
    fast(emulator, fail_custom_ids="^broken$")
    model, bodies = CASES[endpoint]
    lines = [
        {"custom_id": f"c{i}", "method": "POST", "url": endpoint, "body": {"model": model, **body}}
        for i, body in enumerate(bodies)
    ]
    # A request that fails uses no tokens: it adds nothing to the batch's usage.
    lines.append({**lines[0], "custom_id": "broken"})
    done = wait(openai_client, start_batch(openai_client, lines, endpoint=endpoint).id)
    assert done.request_counts is not None
    assert (done.request_counts.completed, done.request_counts.failed) == (len(bodies), 1)
    usages = [_usage(endpoint, r["response"]["body"]) for r in read_lines(openai_client, done.output_file_id)]
    assert [prompt for prompt, _, _ in usages] == PROMPTS[endpoint]
    for prompt, completion, total in usages:
        assert total == prompt + completion
        assert (completion == 0) == (endpoint == "/v1/embeddings")
    batch_usage = done.model_dump()["usage"]  # read as a dict: openai 1.68 has no Batch.usage yet
    assert batch_usage["input_tokens"] == sum(prompt for prompt, _, _ in usages)
    assert batch_usage["output_tokens"] == sum(completion for _, completion, _ in usages)
    assert batch_usage["total_tokens"] == sum(total for _, _, total in usages)


def test_completion_tokens_follow_the_answer(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    fast(emulator)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": TEXT}]}
    lines = [
        {"custom_id": "full", "method": "POST", "url": "/v1/chat/completions", "body": body},
        {
            "custom_id": "cut",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {**body, "max_completion_tokens": 5, "n": 2},
        },
    ]
    done = wait(openai_client, start_batch(openai_client, lines).id)
    full, cut = (
        ChatCompletion.model_validate(r["response"]["body"])
        for r in read_lines(openai_client, done.output_file_id)
    )
    assert full.usage is not None
    assert cut.usage is not None
    assert full.usage.completion_tokens == len(f"Echo: {TEXT}") // 4 + 1  # 406 characters
    assert cut.usage.completion_tokens == 2 * 5  # five tokens for each of the two choices
    assert full.usage.prompt_tokens == cut.usage.prompt_tokens
