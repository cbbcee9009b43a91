"""The optional tokenizer (`OPENAI_BATCH_TOKENIZER`): OpenAI's own count of the prompt tokens, offline."""

from __future__ import annotations

import bpe_openai
import pytest

from openai_batch_jobs.errors import OpenAIBatchError
from openai_batch_jobs.inputs.estimate import MESSAGE_TOKENS, TOKENIZER_ENV, method, request_tokens

TEXT = "Translate 'good morning' into Spanish, French and German, and say which is the shortest."
CHAT = "/v1/chat/completions"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": TEXT}], "max_tokens": 50}


def test_by_default_characters_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKENIZER_ENV, raising=False)
    tokens = request_tokens(CHAT, BODY)
    assert tokens.prompt == -(-len(TEXT) // 4) + MESSAGE_TOKENS
    assert method().startswith("characters / 4")


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_the_tokenizer_counts_as_openai_does(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(TOKENIZER_ENV, name)
    tokens = request_tokens(CHAT, BODY)
    exact = len(bpe_openai.get_encoding(name).encode_ordinary(TEXT))
    assert tokens.prompt == exact + MESSAGE_TOKENS
    # A budget's bound never goes below OpenAI's count nor the emulator's (characters / 4).
    assert tokens.bound >= max(tokens.prompt, -(-len(TEXT) // 4) + MESSAGE_TOKENS)
    assert tokens.output == 50
    assert method().startswith(f"{name} tokens")


def test_an_unknown_tokenizer_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKENIZER_ENV, "p50k")
    with pytest.raises(OpenAIBatchError, match=f"{TOKENIZER_ENV}='p50k' is not a tokenizer"):
        request_tokens(CHAT, BODY)
