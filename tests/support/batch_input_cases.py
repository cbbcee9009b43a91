"""Batch request files and what OpenAI's Batch API finds wrong with them: one table for every checker.

Each case is the bytes of a request file, the `endpoint` of the batch it is sent to, and the one problem
in it (or none: the file is accepted). It drives the emulator's tests (the batch fails while validating
with `errors.data[]` naming `code` and `line`) and the plugin's pre-upload check (which raises
InvalidRequestFile listing `line N: ...` problems): whatever checks a file, its message for the problem
contains `keyword` (compared case-insensitively) and names the line.

Two cases are not what OpenAI is known to do, and say so: a UTF-8 byte order mark (whether OpenAI
accepts one is not documented; refusing it is the safe reading) and bytes that are not UTF-8 (OpenAI
refuses such a file at upload already, with "Invalid file for Batch API. Must be utf-8 encoded").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

CHAT = "/v1/chat/completions"
EMBEDDINGS = "/v1/embeddings"
UTF8_BOM = b"\xef\xbb\xbf"
# OpenAI's limit of embedding inputs over all the requests of one embeddings batch.
MAX_EMBEDDING_INPUTS = 50_000


@dataclass(frozen=True)
class Problem:
    """What is wrong with a file: the Batch API's error `code`, the 1-based `line` it names (None for
    the file as a whole), and a word every checker's message for it contains."""

    code: str
    line: int | None
    keyword: str


@dataclass(frozen=True)
class BatchInputCase:
    name: str
    data: bytes
    endpoint: str
    problem: Problem | None  # None: a valid file, which every checker must accept

    @property
    def id(self) -> str:
        """For `pytest.mark.parametrize(..., ids=...)`."""
        return self.name


def chat_request(custom_id: str, model: str = "gpt-4o-mini", **changes: Any) -> dict[str, Any]:
    request = {
        "custom_id": custom_id,
        "method": "POST",
        "url": CHAT,
        "body": {"model": model, "messages": [{"role": "user", "content": "hello"}]},
    }
    return {**request, **changes}


def embedding_request(custom_id: str, given: str | list[Any]) -> dict[str, Any]:
    # Two dimensions keep the answers small where a checker goes on to run the batch.
    body = {"model": "text-embedding-3-small", "input": given, "dimensions": 2}
    return {"custom_id": custom_id, "method": "POST", "url": EMBEDDINGS, "body": body}


def jsonl(*lines: dict[str, Any] | str) -> bytes:
    """One line per item: dicts as JSON, strings as they are."""
    return b"".join((line if isinstance(line, str) else json.dumps(line)).encode() + b"\n" for line in lines)


def _embedding_file(inputs_per_request: int, requests: int, *extra: dict[str, Any]) -> bytes:
    given = [f"w{i}" for i in range(inputs_per_request)]
    return jsonl(*(embedding_request(f"e{n}", given) for n in range(requests)), *extra)


CASES: list[BatchInputCase] = [
    BatchInputCase("valid-chat", jsonl(chat_request("a"), chat_request("b")), CHAT, None),
    BatchInputCase(
        "not-json",
        jsonl(chat_request("a"), "{not json"),
        CHAT,
        Problem("invalid_json_line", 2, "JSON"),
    ),
    BatchInputCase(
        "stream-true",
        jsonl(
            chat_request("a"),
            chat_request("b", body={"model": "gpt-4o-mini", "messages": [], "stream": True}),
        ),
        CHAT,
        Problem("stream_not_supported", 2, "stream"),
    ),
    BatchInputCase(
        "stream-false",
        jsonl(chat_request("a", body={"model": "gpt-4o-mini", "messages": [], "stream": False})),
        CHAT,
        None,
    ),
    BatchInputCase("not-an-object", jsonl("[1, 2]"), CHAT, Problem("invalid_json_line", 1, "JSON")),
    BatchInputCase(
        "blank-line",
        jsonl(chat_request("a"), "", chat_request("b")),
        CHAT,
        Problem("invalid_json_line", 2, "JSON"),
    ),
    BatchInputCase(
        "utf8-bom",
        UTF8_BOM + jsonl(chat_request("a"), chat_request("b")),
        CHAT,
        Problem("invalid_json_line", 1, "BOM"),
    ),
    BatchInputCase(
        "not-utf8",
        jsonl(chat_request("a"))
        + json.dumps(chat_request("b")).encode().replace(b"hello", b"h\xe9llo")
        + b"\n",
        CHAT,
        Problem("invalid_json_line", 2, "UTF-8"),
    ),
    BatchInputCase(
        "no-custom-id",
        jsonl(chat_request("a"), {**chat_request("b"), "custom_id": None}),
        CHAT,
        Problem("missing_required_parameter", 2, "custom_id"),
    ),
    BatchInputCase(
        "duplicate-custom-id",
        jsonl(chat_request("a"), chat_request("a")),
        CHAT,
        Problem("duplicate_custom_id", 2, "custom_id"),
    ),
    BatchInputCase(
        "method", jsonl(chat_request("a", method="GET")), CHAT, Problem("invalid_method", 1, "method")
    ),
    BatchInputCase(
        "url-differs-from-endpoint",
        jsonl(chat_request("a", url=EMBEDDINGS)),
        CHAT,
        Problem("url_mismatch", 1, "url"),
    ),
    BatchInputCase(
        "url-differs-on-a-later-line",
        jsonl(chat_request("a"), chat_request("b"), chat_request("c", url="/v1/completions")),
        CHAT,
        Problem("url_mismatch", 3, "url"),
    ),
    BatchInputCase(
        "models-differ",
        jsonl(chat_request("a"), chat_request("b", model="gpt-4o")),
        CHAT,
        Problem("model_mismatch", 2, "model"),
    ),
    BatchInputCase("empty-file", b"", CHAT, Problem("empty_file", None, "empty")),
    BatchInputCase(
        # 600 requests of 100 inputs: line 501 takes the batch past 50,000.
        "embedding-inputs-over-the-limit",
        _embedding_file(100, 600),
        EMBEDDINGS,
        Problem("too_many_tasks", 501, "embedding inputs"),
    ),
    BatchInputCase(
        # A string is one input, a list of strings one per item: 49,999 + 1 + 1.
        "embedding-inputs-over-the-limit-strings-and-lists",
        _embedding_file(
            MAX_EMBEDDING_INPUTS - 1, 1, embedding_request("s1", "one"), embedding_request("s2", "two")
        ),
        EMBEDDINGS,
        Problem("too_many_tasks", 3, "embedding inputs"),
    ),
    BatchInputCase("embedding-inputs-at-the-limit", _embedding_file(100, 500), EMBEDDINGS, None),
    BatchInputCase(
        # A list of token ids is one input: 49,999 + 1.
        "embedding-inputs-at-the-limit-with-tokens",
        _embedding_file(MAX_EMBEDDING_INPUTS - 1, 1, embedding_request("t", [15339, 1917])),
        EMBEDDINGS,
        None,
    ),
]
