"""Checks a Batch request file in one streaming pass, so a bad file fails before anything is uploaded.

OpenAI only reports a malformed input file after the upload and a batch creation; catching the
problems here gives the user every bad line at once (with line numbers) and wastes no upload.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from flytekitplugins.openai.core.batch_api import (
    BATCH_ENDPOINTS,
    MAX_INPUT_FILE_BYTES,
    MAX_REQUESTS_PER_BATCH,
    MODEL_OPTIONAL_ENDPOINTS,
)
from flytekitplugins.openai.core.errors import InvalidRequestFile
from flytekitplugins.openai.core.settings import CustomReader

from .config import READ_BUFFER
from .hashset import HashSet

# OpenAI's limits, the defaults of the upload task's `max_requests` and `max_bytes`.
DEFAULT_MAX_REQUESTS = MAX_REQUESTS_PER_BATCH
DEFAULT_MAX_BYTES = MAX_INPUT_FILE_BYTES

_MISSING = object()


@dataclass(frozen=True)
class ValidationLimits:
    """OpenAI's limits by default; compatible servers may allow more (or less)."""

    max_requests: int = DEFAULT_MAX_REQUESTS
    max_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        if self.max_requests < 1 or self.max_bytes < 1:
            raise ValueError("validation limits must be positive")

    def to_custom(self) -> dict[str, int]:
        return {"max_requests": self.max_requests, "max_bytes": self.max_bytes}

    @classmethod
    def from_custom(cls, custom: Mapping[str, Any] | None, task: str = "the upload task") -> ValidationLimits:
        """The limits `to_custom` wrote; ``task`` names the task in errors."""
        reader = CustomReader(custom, task=task, optional=("max_requests", "max_bytes"))
        max_requests = reader.integer("max_requests", DEFAULT_MAX_REQUESTS)
        max_bytes = reader.integer("max_bytes", DEFAULT_MAX_BYTES)
        try:
            return cls(max_requests=max_requests, max_bytes=max_bytes)
        except ValueError as e:
            raise reader.error(f"its limits are not usable ({e})") from None


@dataclass(frozen=True)
class RequestFileSummary:
    """What a valid request file holds, for logging and for checking a batch against it."""

    requests: int
    bytes: int
    url: str
    model: str | None


class _Problems:
    """Keeps the first few problems word for word and counts the rest, so memory stays flat.

    A repeated custom_id is only suspected during the pass (its hash was seen before, see HashSet);
    `settle_repeats` confirms each suspect, with one more pass over the file, before the report.
    """

    def __init__(self) -> None:
        self.shown: list[str | _Repeat] = []
        self.total = 0
        self._repeats: list[_Repeat] = []

    def add(self, message: str | _Repeat) -> None:
        self.total += 1
        if len(self.shown) < InvalidRequestFile.SHOWN:
            self.shown.append(message)

    def suspect_repeat(self, line: int, custom_id: str) -> None:
        repeat = _Repeat(line, custom_id)
        self._repeats.append(repeat)
        self.add(repeat)

    def settle_repeats(self, path: str) -> None:
        """Name the line each repeated custom_id was first used on; drop suspects that were not repeats."""
        if not self._repeats:
            return
        wanted = {r.custom_id for r in self._repeats}
        first: dict[str, int] = {}
        with open(path, "rb", buffering=READ_BUFFER) as stream:
            for lineno, raw in enumerate(stream, 1):
                request = None if raw.isspace() else _read_request(raw)
                if isinstance(request, tuple) and type(request[0]) is str and request[0] in wanted:
                    first.setdefault(request[0], lineno)
        for repeat in self._repeats:
            repeat.first = first[repeat.custom_id]
            if repeat.first == repeat.line:  # a hash collision: this is where the id is first used
                self.total -= 1
        self.shown = [p for p in self.shown if not isinstance(p, _Repeat) or p.first != p.line]

    def messages(self) -> list[str]:
        return [str(p) for p in self.shown]


@dataclass
class _Repeat:
    line: int
    custom_id: str
    first: int = 0

    def __str__(self) -> str:
        return f"line {self.line}: custom_id {self.custom_id!r} is already used on line {self.first}"


def validate_request_file(path: str, limits: ValidationLimits = ValidationLimits()) -> RequestFileSummary:
    """Raise InvalidRequestFile listing every problem OpenAI would reject the file for."""
    size = os.path.getsize(path)
    if size == 0:
        raise InvalidRequestFile(path, ["the file is empty: a batch needs at least one request"])
    if size > limits.max_bytes:
        raise InvalidRequestFile(
            path, [f"the file is {size:,} bytes; the limit is {limits.max_bytes:,} bytes"]
        )

    problems = _Problems()
    seen_ids = HashSet()
    url: str | None = None
    url_line = 0
    model: Any = _MISSING
    model_line = 0
    requests = 0

    with open(path, "rb", buffering=READ_BUFFER) as stream:
        for lineno, raw in enumerate(stream, 1):
            if raw.isspace():
                problems.add(f"line {lineno}: blank line (every line must be one JSON request)")
                continue
            requests += 1
            request = _read_request(raw)
            if isinstance(request, str):
                problems.add(f"line {lineno}: {request}")
                continue
            custom_id, method, line_url, body = request

            if custom_id is _MISSING:
                problems.add(f"line {lineno}: custom_id is missing")
            elif type(custom_id) is not str:
                problems.add(f"line {lineno}: custom_id must be a string, got {type(custom_id).__name__}")
            elif not custom_id:
                problems.add(f"line {lineno}: custom_id is empty")
            elif not seen_ids.add(hash(custom_id)):
                problems.suspect_repeat(lineno, custom_id)

            if method != "POST":
                shown = "missing" if method is _MISSING else repr(method)
                problems.add(f"line {lineno}: method must be 'POST', got {shown}")

            if line_url is _MISSING:
                problems.add(f"line {lineno}: url is missing")
            elif line_url not in BATCH_ENDPOINTS:
                problems.add(
                    f"line {lineno}: url {line_url!r} is not a Batch endpoint (one of {', '.join(sorted(BATCH_ENDPOINTS))})"
                )
            elif url is None:
                url, url_line = line_url, lineno
            elif line_url != url:
                problems.add(f"line {lineno}: url {line_url!r} differs from {url!r} on line {url_line}")

            if body is _MISSING:
                problems.add(f"line {lineno}: body is missing")
                continue
            if not isinstance(body, _Body):
                problems.add(f"line {lineno}: body must be a JSON object, got {type(body).__name__}")
                continue
            line_model = body.model
            if line_model is _MISSING:
                if line_url not in MODEL_OPTIONAL_ENDPOINTS:
                    problems.add(f"line {lineno}: body.model is missing")
                    continue
            elif type(line_model) is not str or not line_model:
                problems.add(f"line {lineno}: body.model must be a non-empty string")
                continue
            if model is _MISSING and model_line == 0:
                model, model_line = line_model, lineno
            elif line_model != model:
                problems.add(
                    f"line {lineno}: body.model {_shown_model(line_model)} differs from "
                    f"{_shown_model(model)} on line {model_line} (a batch uses one model)"
                )

    problems.settle_repeats(path)
    if requests == 0:
        problems.add("the file holds no requests")
    if requests > limits.max_requests:
        problems.add(f"the file holds {requests:,} requests; the limit is {limits.max_requests:,}")
    if problems.total:
        raise InvalidRequestFile(path, problems.messages(), problems.total)
    assert url is not None  # a file with requests and no problems has a url on every line
    return RequestFileSummary(
        requests=requests, bytes=size, url=url, model=None if model is _MISSING else str(model)
    )


class _Body(msgspec.Struct):
    model: Any = _MISSING


class _Request(msgspec.Struct):
    """The fields a request is checked on; the rest of the body is skipped, not built."""

    custom_id: Any = _MISSING
    method: Any = _MISSING
    url: Any = _MISSING
    body: _Body | None = _MISSING  # type: ignore[assignment]


_REQUEST = msgspec.json.Decoder(_Request)


def _read_request(raw: bytes) -> tuple[Any, Any, Any, Any] | str:
    """(custom_id, method, url, body) of a line, or why it is not a JSON object.

    msgspec decodes strict JSON objects of the usual shape; any other line (a body that is not an
    object, JSON only the standard library accepts, or no JSON at all) is read with ``json.loads``,
    so every line gets the verdict and the message it always got.
    """
    try:
        request = _REQUEST.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError):
        pass
    else:
        # msgspec skips the fields it does not decode without checking their UTF-8.
        if raw.isascii() or _is_utf8(raw):
            return request.custom_id, request.method, request.url, request.body
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as e:
        return f"not valid JSON ({e.msg} at column {e.colno})"
    except UnicodeDecodeError:
        return "not valid UTF-8"
    if type(record) is not dict:
        return f"a request must be a JSON object, got {type(record).__name__}"
    body = record.get("body", _MISSING)
    if type(body) is dict:
        body = _Body(model=body.get("model", _MISSING))
    return (
        record.get("custom_id", _MISSING),
        record.get("method", _MISSING),
        record.get("url", _MISSING),
        body,
    )


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _shown_model(model: Any) -> str:
    return "(none)" if model is _MISSING else repr(model)
