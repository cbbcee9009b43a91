"""Reading request lines for the validation pass: one line of any shape, or a block of chat requests at once.

`read_request` gives any line's checked fields (msgspec, with ``json.loads`` for what msgspec refuses).
`read_chat_block` takes a run of lines whole while they are chat completions requests of the usual
shape: each line decoded in C into structs holding only what the checks and the estimate read, then
checked and estimated with ``map`` and set operations over the run, so no Python runs per line but
the custom_id set's. A line of another shape ends the run; a run with a problem other than a
repeated custom_id is left to the line-by-line check, which words each problem.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, count, islice, repeat
from operator import attrgetter
from typing import Any, Literal

import msgspec

from openai_batch_jobs.inputs.estimate import RequestTokens, TokenTotals, chat_figures, chat_outputs
from openai_batch_jobs.json_lines import FieldDecoder

# What a field a line lacks reads as (None is JSON's null).
MISSING: Any = object()

# A request's custom_id and model (None: none, or not a string), as `request_keys.read_requests` reads them.
RequestKey = tuple[Any, str | None]
# (line number, bytes, requests (0 or 1), embedding inputs, estimate, key: None for no request) of one
# checked line.
CheckedLine = tuple[int, int, int, int, RequestTokens, RequestKey | None]


class Body(msgspec.Struct):
    """The fields of a request body that are checked or counted (`estimate`); the rest is skipped, not built."""

    model: Any = MISSING
    input: Any = None
    stream: Any = None
    messages: Any = None
    prompt: Any = None
    instructions: Any = None
    n: Any = None
    max_tokens: Any = None
    max_completion_tokens: Any = None
    max_output_tokens: Any = None


class _Request(msgspec.Struct):
    """The fields a request is checked on."""

    custom_id: Any = MISSING
    method: Any = MISSING
    url: Any = MISSING
    body: Body | None = MISSING


_REQUEST = FieldDecoder(_Request)


def read_request(raw: bytes) -> tuple[Any, Any, Any, Any] | str:
    """(custom_id, method, url, body) of a line, or why it is not a JSON object.

    msgspec decodes strict JSON objects of the usual shape about half again as fast as
    ``json.loads`` (it builds only these fields); any other line (a body that is not an object,
    JSON only the standard library accepts, or no JSON at all) is read with ``json.loads``, so every
    line gets the verdict and the message ``json.loads`` gives it.
    """
    request = _REQUEST.decode(raw)
    if request is not None:
        return request.custom_id, request.method, request.url, request.body
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as e:
        return f"not valid JSON ({e.msg} at column {e.colno})"
    except UnicodeDecodeError:
        return "not valid UTF-8"
    if type(record) is not dict:
        return f"a request must be a JSON object, got {type(record).__name__}"
    body = record.get("body", MISSING)
    if type(body) is dict:
        body = Body(**{name: body[name] for name in Body.__struct_fields__ if name in body})
    return (
        record.get("custom_id", MISSING),
        record.get("method", MISSING),
        record.get("url", MISSING),
        body,
    )


def custom_id_of(raw: bytes) -> Any:
    """A line's custom_id as `read_request` reads it (None for a line that is not a JSON object)."""
    request = read_request(raw)
    return None if isinstance(request, str) else request[0]


# The usual chat request (text, text parts, or no content), every field of the type the checks
# pass: a line of any other shape fails to decode and goes to the line-by-line check. Untracked by
# the garbage collector (never in a cycle), so a block of them sets off no collection of the heap.
class _Part(msgspec.Struct, gc=False):
    text: str = ""


class _Message(msgspec.Struct, gc=False):
    content: str | list[_Part] | None = None
    role: str = ""
    name: str | None = None


class _ChatBody(msgspec.Struct, gc=False):
    model: str
    messages: list[_Message]
    stream: bool | None = None
    n: int | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None


class _ChatRequest(msgspec.Struct, gc=False):
    custom_id: str
    method: Literal["POST"]
    url: Literal["/v1/chat/completions"]
    body: _ChatBody


_CHAT = msgspec.json.Decoder(_ChatRequest)
_ID, _BODY, _MODEL, _STREAM, _MESSAGES = map(
    attrgetter, ("custom_id", "body", "body.model", "body.stream", "body.messages")
)
_CONTENT, _ROLE, _NAME, _TEXT = map(attrgetter, ("content", "role", "name", "text"))


@dataclass(frozen=True)
class ChatBlock:
    """Whole lines from ``first_line`` on, each a valid chat completions request to ``model``."""

    raws: list[bytes]
    first_line: int
    ids: list[str]
    model: str
    tokens: TokenTotals
    _requests: list[_ChatRequest]

    @property
    def size(self) -> int:
        return sum(map(len, self.raws))

    def lines(self) -> Iterator[CheckedLine]:
        """Each line as the line-by-line check gives it (for a block cut between parts)."""
        for lineno, raw, request in zip(count(self.first_line), self.raws, self._requests):
            tokens = _estimate([request])
            yield (
                lineno,
                len(raw),
                1,
                0,
                RequestTokens(tokens.prompt, tokens.bound, tokens.output, bool(tokens.defaulted)),
                (request.custom_id, self.model),
            )


def read_chat_block(raws: list[bytes], start: int, first_line: int, longest: int) -> ChatBlock | int:
    """The lines of ``raws`` from ``start`` on (UTF-8; the first is line ``first_line``) that are chat
    requests of the usual shape, as one block, when they have nothing to report but perhaps a
    repeated custom_id (which the caller checks); else how many lines to check one by one instead
    (0: the first line is of another shape).

    The block ends before the first line of another shape or over ``longest`` bytes, so one such
    line costs the lines around it nothing.
    """
    requests: list[_ChatRequest] = []
    # Extending stops at the first line that does not decode, keeping those before it.
    with contextlib.suppress(msgspec.DecodeError, UnicodeDecodeError):
        requests.extend(map(_CHAT.decode, islice(raws, start, None)))
    raws = raws[start : start + len(requests)]
    if raws and max(map(len, raws)) > longest:
        del raws[next(i for i, raw in enumerate(raws) if len(raw) > longest) :]
        del requests[len(raws) :]
    if not requests:
        return 0
    ids = list(map(_ID, requests))
    models = set(map(_MODEL, requests))
    if not all(ids) or len(models) != 1 or "" in models or any(map(_STREAM, requests)):
        return len(requests)
    return ChatBlock(raws, first_line, ids, models.pop(), _estimate(requests), requests)


def _joined(content: str | list[_Part] | None) -> str:
    """A message's text as `estimate` reads it: its parts' texts joined with spaces."""
    if content is None or isinstance(content, str):
        return content or ""
    return " ".join(map(_TEXT, content))


def _estimate(requests: list[_ChatRequest]) -> TokenTotals:
    """The requests' estimate, summed (`estimate.chat_figures`, `estimate.chat_outputs`)."""
    messages = list(chain.from_iterable(map(_MESSAGES, requests)))
    # Only the roles' and names' total size counts: the names (if any) follow the roles.
    extras = list(map(_ROLE, messages))
    extras.extend(filter(None, map(_NAME, messages)))
    texts = list(map(_CONTENT, messages))
    if not all(map(isinstance, texts, repeat(str))):
        texts = list(map(_joined, texts))
    prompt, bound = chat_figures(texts, extras, len(requests))
    output, defaulted = chat_outputs(list(map(_BODY, requests)))
    return TokenTotals(len(requests), prompt, bound, output, defaulted)
