"""One row of the results table from a request's key and its result line, the fields decoded in C.

`TableLine` is the shape of a result line as far as the table reads it: msgspec builds only those
fields and skips the rest (an answer's other fields, a vector's other items) without making Python
objects of them. Every field that holds an object or a list also takes any other JSON value, so any
JSON object decodes, whatever an endpoint puts where: `row` then takes a value only where it has the
expected type, as one rule for every line. A line that is no JSON object at all is read by
`result_lines.read_result_line` (an unreadable line, counted failed with the reason).
"""

from __future__ import annotations

import array
import base64
import binascii
from typing import Any, Union

import msgspec

from openai_batch_jobs.results.result_lines import (
    MISSING_RESULT,
    UNREADABLE_RESULT,
    ResultLine,
    error_of,
    is_answer,
)

# The table's columns (`results_table` says what each holds), in the order of a row's values.
COLUMNS = (
    "custom_id",
    "status",
    "model",
    "text",
    "embedding",
    "outputs",
    "finish_reason",
    "http_status",
    "error_code",
    "error_message",
    "prompt_tokens",
    "completion_tokens",
    "attempts",
)
Row = tuple[Any, ...]
_SCALAR = Union[None, str, int, float, bool]  # noqa: UP007  (a runtime type msgspec reads)


# The decoded fields are never part of a reference cycle: untracked by the garbage collector.
class _Message(msgspec.Struct, gc=False):
    content: Any = None


class _Choice(msgspec.Struct, gc=False):
    message: Union[_Message, _SCALAR, list[Any]] = None  # noqa: UP007
    text: Any = None
    finish_reason: Any = None


class _Vector(msgspec.Struct, gc=False):
    embedding: Any = None


class _Part(msgspec.Struct, gc=False):
    type: Any = None
    text: Any = None


class _OutputItem(msgspec.Struct, gc=False):
    type: Any = None
    content: Union[list[Union[_Part, _SCALAR, list[Any]]], _SCALAR, dict[str, Any]] = None  # noqa: UP007


class _Details(msgspec.Struct, gc=False):
    reason: Any = None


class _Usage(msgspec.Struct, gc=False):
    prompt_tokens: Any = None
    completion_tokens: Any = None
    input_tokens: Any = None
    output_tokens: Any = None


class _Body(msgspec.Struct, gc=False):
    error: Any = None
    object: Any = None
    choices: Union[list[Union[_Choice, _SCALAR, list[Any]]], _SCALAR, dict[str, Any]] = None  # noqa: UP007
    data: Union[list[Union[_Vector, _SCALAR, list[Any]]], _SCALAR, dict[str, Any]] = None  # noqa: UP007
    results: Union[list[msgspec.Raw], _SCALAR, dict[str, Any]] = None  # noqa: UP007
    output: Union[list[Union[_OutputItem, _SCALAR, list[Any]]], _SCALAR, dict[str, Any]] = None  # noqa: UP007
    incomplete_details: Union[_Details, _SCALAR, list[Any]] = None  # noqa: UP007
    status: Any = None
    usage: Union[_Usage, _SCALAR, list[Any]] = None  # noqa: UP007


class _Response(msgspec.Struct, gc=False):
    status_code: Any = None
    body: Union[_Body, _SCALAR, list[Any]] = None  # noqa: UP007


class TableLine(msgspec.Struct, gc=False):
    """What the table reads of a result line."""

    custom_id: str  # a line without one is read by `result_lines.read_result_line`: unreadable
    response: Union[_Response, _SCALAR, list[Any]] = None  # noqa: UP007
    error: Any = None
    attempts: Any = None


LINES = msgspec.json.Decoder(TableLine)
_NO_CHOICE = _Choice()


def from_record(record: dict[str, Any]) -> TableLine:
    """A line the standard library's JSON read (and msgspec's did not) in the same shape."""
    return msgspec.convert(record, TableLine)


def missing(custom_id: str, model: str | None) -> Row:
    return (custom_id, "missing", model, None, None, None, None, None, MISSING_RESULT,
            "no result file has a line for it", None, None, None)  # fmt: skip


def row(custom_id: str, model: str | None, line: TableLine | ResultLine) -> Row:
    """The row of a request answered by ``line``: a decoded line, or an unreadable one. (It runs for
    every request of a job: plain type checks, the chat answer read here, other endpoints in `_answer`.)"""
    if isinstance(line, ResultLine):
        return (custom_id, "failed", model, None, None, None, None, None, UNREADABLE_RESULT,
                f"its result line {line.problem}", None, None, None)  # fmt: skip
    response, attempts = line.response, line.attempts if type(line.attempts) is int else None
    if type(response) is not _Response:
        return _failed(custom_id, model, {"response": response, "error": line.error}, attempts)
    status, body = response.status_code, response.body
    body_error = body.error if type(body) is _Body else None
    if not is_answer(status, body_error, line.error):
        errors = {"error": body_error} if type(body) is _Body else body
        record = {"response": {"status_code": status, "body": errors}, "error": line.error}
        return _failed(custom_id, model, record, attempts)
    if type(body) is not _Body:
        return (
            custom_id,
            "succeeded",
            model,
            None,
            None,
            None,
            None,
            status,
            None,
            None,
            None,
            None,
            attempts,
        )
    choices = body.choices
    vector: array.array[float] | None = None
    outputs: int | None
    if type(choices) is list and choices:  # chat completions, completions
        first = choices[0] if type(choices[0]) is _Choice else _NO_CHOICE
        message, finish, outputs = first.message, first.finish_reason, len(choices)
        text = message.content if type(message) is _Message else first.text
        text, finish = text if type(text) is str else None, finish if type(finish) is str else None
    else:
        text, vector, outputs, finish = _answer(body)
    usage = body.usage
    prompt = completion = None
    if type(usage) is _Usage:
        prompt = usage.prompt_tokens if usage.prompt_tokens is not None else usage.input_tokens
        completion = usage.completion_tokens if usage.completion_tokens is not None else usage.output_tokens
        prompt = prompt if type(prompt) is int else None  # not a bool, not a float
        completion = completion if type(completion) is int else None
    return (custom_id, "succeeded", model, text, vector, outputs, finish, status, None, None, prompt,
            completion, attempts)  # fmt: skip


def _failed(custom_id: str, model: str | None, record: dict[str, Any], attempts: int | None) -> Row:
    status, code, message = error_of(record)
    return (custom_id, "missing" if code == MISSING_RESULT else "failed", model, None, None, None, None, status,
            code, message, None, None, attempts)  # fmt: skip


def _answer(body: _Body) -> tuple[str | None, array.array[float] | None, int | None, str | None]:
    """Text, embedding, output count and finish reason of an answer with no choices (`row` reads those)."""
    data = body.data
    if type(data) is list and data:  # embeddings
        first_vector = data[0].embedding if isinstance(data[0], _Vector) else None
        return None, _vector(first_vector), len(data), None
    if body.object == "response":  # responses
        items = body.output if type(body.output) is list else ()
        messages = [item for item in items if isinstance(item, _OutputItem) and item.type == "message"]
        texts = [
            part.text
            for item in messages
            if type(item.content) is list
            for part in item.content
            if isinstance(part, _Part) and part.type == "output_text"
        ]
        details = body.incomplete_details
        reason = details.reason if isinstance(details, _Details) else None
        text = "".join(t for t in texts if isinstance(t, str)) if texts else None
        return text, None, len(messages), _str(reason or body.status)
    if type(body.results) is list:  # moderations
        return None, None, len(body.results), None
    return None, None, None, None


def _vector(embedding: Any) -> array.array[float] | None:
    """A vector as the table stores it (float32): from a JSON list of numbers, or base64 of
    little-endian float32s."""
    try:
        if isinstance(embedding, list):
            return array.array("f", embedding)
        if isinstance(embedding, str):  # encoding_format "base64"
            values = array.array("f")
            values.frombytes(base64.b64decode(embedding))
            return values
    except (TypeError, ValueError, binascii.Error):
        return None
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
