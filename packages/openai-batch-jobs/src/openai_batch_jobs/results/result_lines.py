"""What one line of a batch's output or error file says about its request.

A line is an answer (HTTP 2xx and no error), a failure worth sending again (`TRANSIENT_STATUSES`,
`TRANSIENT_ERROR_CODES`), a failure that would fail again, or unreadable: the API wrote something that
is not a JSON object (cut short, or an HTML error page). An unreadable line's request still counts, as
failed with the reason; its custom_id is recovered from the raw text when it is there.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec

from openai_batch_jobs.json_lines import FieldDecoder, decode_json, is_utf8

# Per-request HTTP statuses that say "try again later": timeouts, rate limits and server faults.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# The error code of lines without a response whose batch ran out of time before sending the request:
# sending it again may well succeed.
BATCH_EXPIRED = "batch_expired"
TRANSIENT_ERROR_CODES = frozenset({BATCH_EXPIRED})

# Error codes this plugin writes for requests the API's files do not answer readably.
UNREADABLE_RESULT = "unreadable_result"  # its line is there but cannot be read: counted failed
MISSING_RESULT = "missing_result"  # no result file has a line for it: counted missing

# How much of an unreadable line an error message quotes.
QUOTED_CHARS = 60

_CUSTOM_ID = re.compile(rb'"custom_id"\s*:\s*"((?:[^"\\]|\\.)*)"')


# The decoded fields are never part of a reference cycle: untracked by the garbage collector, a block
# of them decoded at once (`answers_of`) sets off no collection of the process's whole heap.
class _ErrorOnly(msgspec.Struct, gc=False):
    error: Any = None


class _Response(msgspec.Struct, gc=False):
    status_code: Any = None
    body: _ErrorOnly | None = None


class _Verdict(msgspec.Struct, gc=False):
    """The fields of a result line that `classify` reads; msgspec skips the rest (the answer)."""

    custom_id: Any = None
    response: _Response | None = None
    error: Any = None


_VERDICT = FieldDecoder(_Verdict)


# An answer as `judge_result_line` decides it, in types: a 2xx status that is an int (not a bool nor
# a float), a body that is absent, null or an object whose ``error`` is no object, no line ``error``.
class _AnswerBody(msgspec.Struct, gc=False):
    error: bool | int | float | str | list[Any] | None = None


class _AnswerResponse(msgspec.Struct, gc=False):
    status_code: Annotated[int, msgspec.Meta(ge=200, le=299)]
    body: _AnswerBody | None = None


class _Answer(msgspec.Struct, gc=False):
    custom_id: str
    response: _AnswerResponse
    error: None = None


_ANSWERS = msgspec.json.Decoder(_Answer)


class LineKind(str, enum.Enum):
    SUCCEEDED = "succeeded"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    UNREADABLE = "unreadable"


@dataclass(frozen=True, slots=True)  # one is made per line of every result file
class ResultLine:
    """One result line read: its request's custom_id (None if not found), what it says, and why if unreadable."""

    custom_id: str | None
    kind: LineKind
    record: Mapping[str, Any] | None = None
    problem: str | None = None


def read_result_line(raw: bytes) -> ResultLine:
    """Classify one raw line (with or without its newline) of an output or error file."""
    text = raw.strip()
    try:
        record = decode_json(text)
    except ValueError as error:
        return ResultLine(_recover_custom_id(text), LineKind.UNREADABLE, problem=_unreadable(text, error))
    if not isinstance(record, dict):
        return ResultLine(None, LineKind.UNREADABLE, problem=f"is JSON but not an object: {_quote(text)}")
    custom_id = record.get("custom_id")
    if not isinstance(custom_id, str):
        return ResultLine(None, LineKind.UNREADABLE, problem=f"has no custom_id: {_quote(text)}")
    return ResultLine(custom_id, classify(record), record)


def judge_result_line(raw: bytes) -> ResultLine:
    """`read_result_line` without the record: custom_id and kind, building only what decides them.

    A line the typed decoder refuses (not an object, a response or body that is not one, JSON only
    the standard library accepts, no JSON at all), or one that is not UTF-8 in a field it skipped, is
    read by `read_result_line`: same verdict.
    """
    line = _VERDICT.decode(raw)
    if line is None or not isinstance(line.custom_id, str):
        return read_result_line(raw)
    response = line.response
    if response is not None and is_answer(
        response.status_code, response.body and response.body.error, line.error
    ):
        return ResultLine(line.custom_id, LineKind.SUCCEEDED)
    record = {
        "response": None
        if response is None
        else {"status_code": response.status_code, "body": response.body and {"error": response.body.error}},
        "error": line.error,
    }
    return ResultLine(line.custom_id, classify(record))


def answers_of(block: bytes) -> list[str] | None:
    """The custom_ids of a block of whole lines, in order, when every line is an answer (what
    `judge_result_line` calls SUCCEEDED), decoded in one call; None when any line is something else
    or only `judge_result_line` reads it (the caller then judges the lines one at a time).

    The answer's rule is in the types (`_Answer`): msgspec refuses any line that breaks it, so no
    line is looked at again in Python."""
    try:
        lines = _ANSWERS.decode_lines(block)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    if not is_utf8(block):
        return None
    return [line.custom_id for line in lines]


def is_answer(status: Any, body_error: Any, error: Any) -> bool:
    """Whether a line is an answer, from its response's HTTP status, its body's ``error`` and its own
    ``error``: a 2xx status, and no error object in either (the fast path of `error_of`, for readers
    that decode only those fields)."""
    return error is None and type(status) is int and 200 <= status < 300 and type(body_error) is not dict


def classify(record: Mapping[str, Any]) -> LineKind:
    """Succeeded, or failed transiently or permanently, by the line's HTTP status and error code."""
    status, code, _ = error_of(record)
    if code is None and status is not None and 200 <= status < 300:
        return LineKind.SUCCEEDED
    if record.get("response") is None and code in TRANSIENT_ERROR_CODES:
        return LineKind.TRANSIENT
    if status in TRANSIENT_STATUSES:
        return LineKind.TRANSIENT
    return LineKind.PERMANENT


def error_of(record: Mapping[str, Any]) -> tuple[int | None, str | None, str | None]:
    """(HTTP status, error code, error message) of a result line; code and message are None for an answer.

    A failed request's error is either the line's ``error`` (no response: expired, cancelled) or the
    error body of its non-2xx ``response``; an error without a code (OpenAI leaves many 400s without
    one) is named by its type, else by its HTTP status. Nested values are JSON objects, so plain
    ``dict`` checks (no ABC lookups: this runs for every line of every result file).
    """
    response = record.get("response")
    if type(response) is dict:  # the common case first: an answer
        status = response.get("status_code")
        body = response.get("body")
        if is_answer(status, body.get("error") if type(body) is dict else None, record.get("error")):
            return status, None, None
    status = response.get("status_code") if isinstance(response, dict) else None
    status = status if isinstance(status, int) and not isinstance(status, bool) else None
    error = record.get("error")
    if not isinstance(error, dict):
        body = response.get("body") if isinstance(response, dict) else None
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            if status is not None and 200 <= status < 300 and record.get("error") is None:
                return status, None, None
            return status, f"http_{status}" if status else "unknown_error", "no error details given"
    code = error.get("code") or error.get("type") or (f"http_{status}" if status else "unknown_error")
    message = error.get("message")
    return status, str(code), str(message) if message is not None else "no error details given"


def error_line(custom_id: str, code: str, message: str, attempts: int) -> bytes:
    """An error-file line for a request the API's files do not answer readably (OpenAI's line shape)."""
    line = {
        "id": None,
        "custom_id": custom_id,
        "response": None,
        "error": {"code": code, "message": message},
        "attempts": attempts,
    }
    return json.dumps(line, ensure_ascii=False).encode() + b"\n"


def with_attempts(raw: bytes, attempts: int) -> bytes:
    """A readable result line with ``"attempts": N`` added, the rest kept byte for byte."""
    body = raw.rstrip()
    if not body.endswith(b"}"):
        raise ValueError("not a JSON object line")
    return body[:-1] + b',"attempts":' + str(attempts).encode() + b"}\n"


def lines_with_attempts(block: bytes, attempts: int) -> tuple[bytes, int] | None:
    """`with_attempts` of every line of a block of whole lines, and how many lines: one join of views
    into the block (no line is copied on its own). None when a line does not end with ``}`` right
    before its newline (a blank line, trailing blanks), for `with_attempts` to add one at a time."""
    if not block.endswith(b"\n"):
        block += b"\n"
    view, find = memoryview(block), block.find
    lines: list[memoryview] = []
    start = 0
    while (stop := find(b"\n", start)) >= 0:
        if block[stop - 1] != 0x7D:  # "}"
            return None
        lines.append(view[start : stop - 1])
        start = stop + 1
    end = b',"attempts":%d}\n' % attempts
    return end.join(lines) + end, len(lines)


def _recover_custom_id(text: bytes) -> str | None:
    match = _CUSTOM_ID.search(text)
    if match is None:
        return None
    try:
        found = json.loads(b'"' + match.group(1) + b'"')
    except ValueError:
        return None
    return found if isinstance(found, str) else None


def _unreadable(text: bytes, error: ValueError) -> str:
    position = getattr(error, "pos", None)
    at_end = isinstance(position, int) and position >= len(text) - 1
    if text.startswith(b"{") and (at_end or str(getattr(error, "msg", "")).startswith("Unterminated")):
        return f"is cut short (not complete JSON): {_quote(text)}"
    return f"is not JSON: {_quote(text)}"


def _quote(text: bytes) -> str:
    shown = text[:QUOTED_CHARS].decode("utf-8", errors="replace")
    return repr(shown + ("..." if len(text) > QUOTED_CHARS else ""))
