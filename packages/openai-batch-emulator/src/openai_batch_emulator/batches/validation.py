"""The checks a batch runs while `validating`: one streamed pass over the input file.

Error codes follow those OpenAI documents for batch input errors (`invalid_json_line`,
`duplicate_custom_id`, `url_mismatch`, `model_mismatch`, `empty_file`, `too_many_tasks`); where OpenAI
documents none, the code is the emulator's own (`invalid_method`, `missing_required_parameter`,
`invalid_type`, `file_too_large`, `stream_not_supported`); a UTF-8 byte order mark or bytes that are
not UTF-8 make an `invalid_json_line`. A request with `"stream": true` fails validation: a batch
writes each answer as one line of its output file, so there is nothing to stream to (OpenAI's Batch
API refuses such lines, and the synchronous endpoints here answer `stream` with a 400).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..answers.responders import prompt_tokens

UTF8_BOM = b"\xef\xbb\xbf"
# Lines are short next to this, so each read brings many of them (the default 8 KiB means a system
# call every line or two on a 200 MB file of 4 KB requests).
READ_BUFFER = 1024 * 1024
# Enough to name every problem in a realistic bad file without letting a broken 200 MB one explode.
MAX_REPORTED_ERRORS = 1000


@dataclass
class Limits:
    max_requests: int
    max_input_bytes: int
    max_embedding_inputs: int


@dataclass
class ValidationResult:
    errors: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    model: str | None = None
    tokens: int = 0  # estimated prompt tokens of the whole file: what the batch enqueues

    def add(self, code: str, message: str, *, line: int | None = None, param: str | None = None) -> None:
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"code": code, "message": message, "param": param, "line": line})


def iter_lines(path: Path, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """(offset after the line, raw line) for each line from byte `start`; one line in memory at a time."""
    with path.open("rb", buffering=READ_BUFFER) as handle:
        handle.seek(start)
        offset = start
        for raw in handle:
            offset += len(raw)
            yield offset, raw


def parse_line(raw: bytes) -> Any:
    """The JSON value of one input line; raise UnicodeDecodeError if it is not UTF-8, else ValueError
    if it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raw.decode("utf-8")  # raises if that was the problem
        raise


def validate_input(path: Path, *, endpoint: str, limits: Limits) -> ValidationResult:
    result = ValidationResult()
    size = path.stat().st_size
    if size > limits.max_input_bytes:
        result.add(
            "file_too_large",
            f"The input file is {size} bytes; a batch input file can be at most {limits.max_input_bytes} bytes.",
        )
        return result
    seen: set[str] = set()
    embedding_inputs = 0
    past_limit_line: int | None = None
    for number, (_, raw) in enumerate(iter_lines(path), start=1):
        result.total = number
        if number == 1 and raw.startswith(UTF8_BOM):
            # Whether OpenAI accepts a BOM is not documented; JSON text must not start with one.
            result.add(
                "invalid_json_line",
                "The file starts with a UTF-8 byte order mark (BOM), which is not valid JSON; save it as "
                "UTF-8 without a BOM.",
                line=1,
            )
            raw = raw[len(UTF8_BOM) :]
        try:
            request = parse_line(raw)
        except UnicodeDecodeError:
            result.add("invalid_json_line", "This line is not valid UTF-8.", line=number)
            continue
        except ValueError:
            request = None
        if not isinstance(request, dict):
            result.add("invalid_json_line", "This line is not parseable as valid JSON.", line=number)
            continue
        _check_request(request, number, endpoint, seen, result)
        body = request.get("body")
        if isinstance(body, dict):
            result.tokens += prompt_tokens(endpoint, body)
        if isinstance(body, dict) and endpoint == "/v1/embeddings":
            given = body.get("input")
            embedding_inputs += len(given) if isinstance(given, list) and not _is_tokens(given) else 1
            if past_limit_line is None and embedding_inputs > limits.max_embedding_inputs:
                past_limit_line = number
    if result.total == 0:
        result.add("empty_file", "The batch input file is empty. Provide at least one request.")
    if result.total > limits.max_requests:
        result.add(
            "too_many_tasks",
            f"The batch input file has {result.total} requests; a batch can have at most {limits.max_requests}.",
        )
    if past_limit_line is not None:
        result.add(
            "too_many_tasks",
            f"The batch has {embedding_inputs:,} embedding inputs, {limits.max_embedding_inputs:,} at most "
            f"across all its requests; this line takes it past the limit.",
            line=past_limit_line,
        )
    return result


def _is_tokens(value: list[Any]) -> bool:
    return bool(value) and all(isinstance(item, int) for item in value)


def _check_request(
    request: dict[str, Any], line: int, endpoint: str, seen: set[str], result: ValidationResult
) -> None:
    custom_id = request.get("custom_id")
    if custom_id is None or custom_id == "":
        result.add(
            "missing_required_parameter",
            "Missing required parameter: 'custom_id'.",
            line=line,
            param="custom_id",
        )
    elif not isinstance(custom_id, str):
        result.add("invalid_type", "The custom_id must be a string.", line=line, param="custom_id")
    elif custom_id in seen:
        result.add(
            "duplicate_custom_id",
            f"The custom_id {custom_id!r} is a duplicate of another request's; custom_id must be unique "
            "for each request in a batch.",
            line=line,
            param="custom_id",
        )
    else:
        seen.add(custom_id)

    method = request.get("method")
    if method is None:
        result.add(
            "missing_required_parameter", "Missing required parameter: 'method'.", line=line, param="method"
        )
    elif method != "POST":
        result.add(
            "invalid_method",
            f"The method {method!r} is not supported; only 'POST' is.",
            line=line,
            param="method",
        )

    url = request.get("url")
    if url is None:
        result.add("missing_required_parameter", "Missing required parameter: 'url'.", line=line, param="url")
    elif url != endpoint:
        result.add(
            "url_mismatch",
            f"The url {url!r} does not match the batch's endpoint {endpoint!r}.",
            line=line,
            param="url",
        )

    body = request.get("body")
    if body is None:
        result.add(
            "missing_required_parameter", "Missing required parameter: 'body'.", line=line, param="body"
        )
        return
    if not isinstance(body, dict):
        result.add("invalid_type", "The body must be a JSON object.", line=line, param="body")
        return
    if body.get("stream") is True:
        result.add(
            "stream_not_supported",
            "Streaming is not supported in a batch: remove 'stream' from the request body or set it to false.",
            line=line,
            param="body.stream",
        )
    model = body.get("model")
    if isinstance(model, str):
        if result.model is None:
            result.model = model
        elif model != result.model:
            result.add(
                "model_mismatch",
                f"The model {model!r} differs from the batch's model {result.model!r}; all requests in a "
                "batch must use the same model.",
                line=line,
                param="body.model",
            )
