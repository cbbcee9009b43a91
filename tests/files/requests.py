"""Batch request files for the files tests: a good one, and one per kind of mistake OpenAI rejects."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MODEL = "gpt-4o-mini"
URL = "/v1/chat/completions"


def request(i: int, *, model: str = MODEL, url: str = URL, **overrides: Any) -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": f"Say {i}"}], "max_tokens": 5}
    line: dict[str, Any] = {"custom_id": f"req-{i}", "method": "POST", "url": url, "body": body}
    line.update(overrides)
    return line


def write_lines(path: Path, lines: Iterable[Any]) -> Path:
    """Write JSONL; str items are written verbatim (for lines that are not valid JSON)."""
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
    return path


def good_file(path: Path, n: int = 3) -> Path:
    return write_lines(path, (request(i) for i in range(n)))


# (id, lines, a phrase the error must contain). Each file has exactly one mistake, on line 2 when per line.
BAD_FILES: list[tuple[str, list[Any], str]] = [
    (
        "not-json",
        [request(0), '{"custom_id": "req-1", "method": "POST"', request(2)],
        "line 2: not valid JSON",
    ),
    ("not-object", [request(0), [1, 2], request(2)], "line 2: a request must be a JSON object"),
    ("blank-line", [request(0), "", request(2)], "line 2: blank line"),
    (
        "custom-id-missing",
        [request(0), {k: v for k, v in request(1).items() if k != "custom_id"}],
        "line 2: custom_id is missing",
    ),
    ("custom-id-not-string", [request(0), request(1, custom_id=7)], "line 2: custom_id must be a string"),
    ("custom-id-duplicate", [request(0), request(0)], "line 2: custom_id 'req-0' is already used on line 1"),
    ("method-not-post", [request(0), request(1, method="GET")], "line 2: method must be 'POST', got 'GET'"),
    (
        "url-not-endpoint",
        [request(0), request(1, url="/v1/files")],
        "line 2: url '/v1/files' is not a Batch endpoint",
    ),
    (
        "url-differs",
        [request(0), request(1, url="/v1/embeddings")],
        "line 2: url '/v1/embeddings' differs from '/v1/chat/completions' on line 1",
    ),
    ("body-not-object", [request(0), request(1, body="hello")], "line 2: body must be a JSON object"),
    ("body-null", [request(0), request(1, body=None)], "line 2: body must be a JSON object, got NoneType"),
    (
        "body-missing",
        [request(0), {k: v for k, v in request(1).items() if k != "body"}],
        "line 2: body is missing",
    ),
    ("model-missing", [request(0), request(1, body={"messages": []})], "line 2: body.model is missing"),
    (
        "model-differs",
        [request(0), request(1, model="gpt-4o")],
        "line 2: body.model 'gpt-4o' differs from 'gpt-4o-mini' on line 1",
    ),
    ("empty-file", [], "the file is empty"),
]
