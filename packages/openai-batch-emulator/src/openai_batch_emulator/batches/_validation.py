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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..answers.prompts import prompt_tokens
from .jsonl import iter_lines, parse_line

UTF8_BOM = b"\xef\xbb\xbf"
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
    _check_custom_id(request.get("custom_id"), line, seen, result)
    _check_fixed(
        request,
        "method",
        "POST",
        line,
        result,
        "invalid_method",
        "The method {!r} is not supported; only 'POST' is.",
    )
    message = "The url {!r} does not match the batch's endpoint {!r}."
    _check_fixed(request, "url", endpoint, line, result, "url_mismatch", message)
    body = request.get("body")
    if body is None:
        _missing("body", line, result)
    elif not isinstance(body, dict):
        result.add("invalid_type", "The body must be a JSON object.", line=line, param="body")
    else:
        _check_body(body, line, result)


def _missing(name: str, line: int, result: ValidationResult) -> None:
    result.add("missing_required_parameter", f"Missing required parameter: '{name}'.", line=line, param=name)


def _check_custom_id(custom_id: Any, line: int, seen: set[str], result: ValidationResult) -> None:
    if custom_id is None or custom_id == "":
        _missing("custom_id", line, result)
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


def _check_fixed(
    request: dict[str, Any],
    name: str,
    expected: str,
    line: int,
    result: ValidationResult,
    code: str,
    message: str,
) -> None:
    """A field that must be present with one value; `message` is formatted with the value and `expected`."""
    value = request.get(name)
    if value is None:
        _missing(name, line, result)
    elif value != expected:
        result.add(code, message.format(value, expected), line=line, param=name)


def _check_body(body: dict[str, Any], line: int, result: ValidationResult) -> None:
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
