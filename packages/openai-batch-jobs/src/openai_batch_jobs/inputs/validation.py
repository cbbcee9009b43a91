"""Checks a Batch request file in one streaming pass, so a bad file fails before anything is uploaded.

OpenAI only reports a malformed input file after the upload and a batch creation; catching the
problems here gives the user every bad line at once (with line numbers) and wastes no upload.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from openai_batch_jobs.api.batch_api import (
    BATCH_ENDPOINTS,
    MAX_INPUT_FILE_BYTES,
    MAX_REQUESTS_PER_BATCH,
    MODEL_OPTIONAL_ENDPOINTS,
)
from openai_batch_jobs.errors import InvalidRequestFile
from openai_batch_jobs.inputs._request_lines import (
    MISSING,
    Body,
    ChatBlock,
    CheckedLine,
    RequestKey,
    custom_id_of,
    read_chat_block,
    read_request,
)
from openai_batch_jobs.inputs.estimate import CHAT_ENDPOINT, Estimator, RequestTokens, TokenTotals
from openai_batch_jobs.inputs.hashset import HashSet
from openai_batch_jobs.inputs.limits import OPENAI_LIMITS, PartLimits
from openai_batch_jobs.json_lines import READ_BUFFER, is_utf8, read_blocks

# OpenAI's limits, the defaults of the upload task's `max_requests` and `max_bytes`.
DEFAULT_MAX_REQUESTS = MAX_REQUESTS_PER_BATCH
DEFAULT_MAX_BYTES = MAX_INPUT_FILE_BYTES

EMBEDDINGS_ENDPOINT = "/v1/embeddings"
# JSON text must not start with one; whether OpenAI accepts it is not documented, so it is refused.
UTF8_BOM = b"\xef\xbb\xbf"

NO_TOKENS = RequestTokens()


@dataclass(frozen=True)
class RequestFileSummary:
    """What a valid request file holds, for logging and for checking a batch against it."""

    requests: int
    bytes: int
    url: str
    model: str | None
    # The requests' token estimate (`estimate`), counted in the same pass.
    tokens: TokenTotals = field(default_factory=TokenTotals)


class _Problems:
    """Keeps the first few problems word for word and counts the rest, so memory stays flat.

    A suspected repeat of a custom_id holds its place in line order until `RequestChecker.finish`
    settles it (names its first line, or drops it as a hash collision).
    """

    def __init__(self) -> None:
        self.shown: list[str | _Repeat] = []
        self.total = 0

    def add(self, message: str | _Repeat) -> None:
        self.total += 1
        if len(self.shown) < InvalidRequestFile.SHOWN:
            self.shown.append(message)

    def messages(self) -> list[str]:
        return [str(p) for p in self.shown if not isinstance(p, _Repeat) or p.first != p.line]


@dataclass
class _Repeat:
    line: int
    custom_id: str
    first: int = 0

    def __str__(self) -> str:
        return f"line {self.line}: custom_id {self.custom_id!r} is already used on line {self.first}"


class RequestChecker:
    """Checks a request file line by line: what `validate_request_file` and the splitting upload share.

    ``endpoint``, when given, is the batch's: every line's url must be that one. custom_ids are kept
    as 8-byte hashes (HashSet), so memory stays flat however many lines pass; a hash seen before only
    makes a suspect, which `finish` confirms (naming both lines) with one more pass over the file.
    """

    def __init__(self, path: str, endpoint: str | None = None) -> None:
        self.path = path
        self.endpoint = endpoint
        self.problems = _Problems()
        self.requests = 0
        self.url: str | None = endpoint
        self._url_line = 0
        self._model: Any = MISSING
        self._model_line = 0
        self._seen_ids = HashSet()
        self._suspects: list[_Repeat] = []
        self.tokens = TokenTotals()
        self._estimate = Estimator()
        # The estimate of the line checked last (none for a line with a problem that stops its check).
        self.line_tokens = NO_TOKENS
        # The key of the line checked last (None: no JSON object).
        self.line_key: RequestKey | None = None

    def read_file(self, longest: int) -> Iterator[ChatBlock | list[CheckedLine]]:
        """Check the whole file, a block at a time: the runs of lines `check_block` takes come whole;
        the other lines come in runs of `CheckedLine`, each checked by `check`. ``longest``: the bytes
        a line may hold (a longer one is checked by itself, where the caller words its problem)."""
        lineno = 1
        for block in read_blocks(self.path):
            raws = list(io.BytesIO(block))  # split as iterating the file splits it
            fast = self._estimate.by_characters and is_utf8(block)
            start = 0
            # Lines of another shape in a row are checked one by one in ever longer runs: a file of
            # another endpoint tries the block path a few times a block, not once a line.
            misses = 1
            while start < len(raws):
                taken = self.check_block(lineno, raws, start, longest) if fast else len(raws)
                if isinstance(taken, ChatBlock):
                    yield taken
                    taken, misses = len(taken.ids), 1
                else:
                    if not taken:
                        taken, misses = min(misses, len(raws) - start), 2 * misses
                    yield self._check_lines(lineno, raws[start : start + taken])
                start += taken
                lineno += taken

    def _check_lines(self, first: int, raws: list[bytes]) -> list[CheckedLine]:
        checked = []
        for lineno, raw in enumerate(raws, first):
            before = self.requests
            inputs = self.check(lineno, raw)
            checked.append(
                (lineno, len(raw), self.requests - before, inputs, self.line_tokens, self.line_key)
            )
        return checked

    def check_block(self, lineno: int, raws: list[bytes], start: int, longest: int) -> ChatBlock | int:
        """Check the first lines of ``raws`` from ``start`` on (UTF-8; the first is line ``lineno``) at
        once, as `check` would one by one, when they are chat requests of the usual shape
        (`read_chat_block`) agreeing with the lines before; else how many lines to check one by one
        (0: the first line is of another shape), having changed nothing."""
        if lineno == 1 and raws[start].startswith(UTF8_BOM):
            return 1
        chat = read_chat_block(raws, start, lineno, longest)
        if isinstance(chat, int):
            return chat
        if self.url not in (None, CHAT_ENDPOINT) or (self._model_line and chat.model != self._model):
            return len(chat.ids)
        if self.url is None:
            self.url, self._url_line = CHAT_ENDPOINT, lineno
        if not self._model_line:
            self._model, self._model_line = chat.model, lineno
        if lineno == 1:  # as many ids as the first lines foretell: the set is not rebuilt as it fills
            self._seen_ids.reserve(len(chat.ids) * (os.path.getsize(self.path) // chat.size + 1))
        for index in self._seen_ids.add_all(list(map(hash, chat.ids))):
            self._suspect(lineno + index, chat.ids[index])
        self.requests += len(chat.ids)
        self.tokens.merge(chat.tokens)
        return chat

    def check(self, lineno: int, raw: bytes) -> int:
        """Check one line; returns its embedding inputs (0 unless it is a valid embeddings request)."""
        problems = self.problems
        self.line_tokens, self.line_key = NO_TOKENS, None
        if lineno == 1 and raw.startswith(UTF8_BOM):
            problems.add(
                "line 1: the file starts with a UTF-8 byte order mark (BOM), which is not JSON; "
                "save it as UTF-8 without a BOM"
            )
            raw = raw[len(UTF8_BOM) :]
        if not raw.strip():
            problems.add(f"line {lineno}: blank line (every line must be one JSON request)")
            return 0
        self.requests += 1
        request = read_request(raw)
        if isinstance(request, str):
            problems.add(f"line {lineno}: {request}")
            return 0
        custom_id, method, line_url, body = request
        model = body.model if isinstance(body, Body) else None
        self.line_key = (custom_id, model if type(model) is str else None)
        self._check_custom_id(lineno, custom_id)
        if method != "POST":
            shown = "missing" if method is MISSING else repr(method)
            problems.add(f"line {lineno}: method must be 'POST', got {shown}")
        self._check_url(lineno, line_url)
        if not self._check_body(lineno, line_url, body):
            return 0
        self.line_tokens = self._estimate(str(line_url), body)
        self.tokens.add(self.line_tokens)
        return embedding_inputs(body.input) if line_url == EMBEDDINGS_ENDPOINT else 0

    def _check_custom_id(self, lineno: int, custom_id: Any) -> None:
        if custom_id is MISSING:
            self.problems.add(f"line {lineno}: custom_id is missing")
        elif type(custom_id) is not str:
            self.problems.add(f"line {lineno}: custom_id must be a string, got {type(custom_id).__name__}")
        elif not custom_id:
            self.problems.add(f"line {lineno}: custom_id is empty")
        elif not self._seen_ids.add(hash(custom_id)):
            self._suspect(lineno, custom_id)

    def _suspect(self, lineno: int, custom_id: str) -> None:
        self._suspects.append(_Repeat(lineno, custom_id))
        self.problems.add(self._suspects[-1])

    def _check_url(self, lineno: int, line_url: Any) -> None:
        if line_url is MISSING:
            self.problems.add(f"line {lineno}: url is missing")
        elif line_url not in BATCH_ENDPOINTS:
            self.problems.add(
                f"line {lineno}: url {line_url!r} is not a Batch endpoint (one of {', '.join(sorted(BATCH_ENDPOINTS))})"
            )
        elif self.url is None:
            self.url, self._url_line = line_url, lineno
        elif line_url != self.url:
            where = (
                f"{self.url!r} on line {self._url_line}"
                if self._url_line
                else f"the batch's endpoint {self.url!r}"
            )
            self.problems.add(f"line {lineno}: url {line_url!r} differs from {where}")

    def _check_body(self, lineno: int, line_url: Any, body: Any) -> bool:
        """Whether the body is one the estimate can read (its problems, if any, added)."""
        problems = self.problems
        if body is MISSING:
            problems.add(f"line {lineno}: body is missing")
            return False
        if not isinstance(body, Body):
            problems.add(f"line {lineno}: body must be a JSON object, got {type(body).__name__}")
            return False
        if body.stream is True:
            # A batch writes each answer as one line of its output file: there is nothing to stream to.
            problems.add(
                f"line {lineno}: body.stream is true; a batch does not stream, remove it or set it to false"
            )
        line_model = body.model
        if line_model is MISSING:
            if line_url not in MODEL_OPTIONAL_ENDPOINTS:
                problems.add(f"line {lineno}: body.model is missing")
                return False
        elif type(line_model) is not str or not line_model:
            problems.add(f"line {lineno}: body.model must be a non-empty string")
            return False
        if self._model is MISSING and self._model_line == 0:
            self._model, self._model_line = line_model, lineno
        elif line_model != self._model:
            problems.add(
                f"line {lineno}: body.model {_shown_model(line_model)} differs from "
                f"{_shown_model(self._model)} on line {self._model_line} (a batch uses one model)"
            )
        return True

    def finish(self, size: int) -> RequestFileSummary:
        """Raise InvalidRequestFile listing every problem found; else what the file holds."""
        self._settle_repeats()
        if self.requests == 0:
            self.problems.add("the file holds no requests")
        if self.problems.total:
            raise InvalidRequestFile(self.path, self.problems.messages(), self.problems.total)
        assert self.url is not None  # a file with requests and no problems has a url on every line
        model = None if self._model is MISSING else str(self._model)
        return RequestFileSummary(
            requests=self.requests, bytes=size, url=self.url, model=model, tokens=self.tokens
        )

    def _settle_repeats(self) -> None:
        """Name the first line of each suspected repeat; a suspect first used on its own line was a
        hash collision, not a repeat."""
        if not self._suspects:
            return
        wanted = {repeat.custom_id for repeat in self._suspects}
        first: dict[str, int] = {}
        with open(self.path, "rb", buffering=READ_BUFFER) as stream:
            for lineno, raw in enumerate(stream, 1):
                custom_id = custom_id_of(raw)
                if custom_id in wanted:
                    first.setdefault(custom_id, lineno)
        for repeat in self._suspects:
            repeat.first = first[repeat.custom_id]
            if repeat.first == repeat.line:  # a hash collision: this is where the id is first used
                self.problems.total -= 1


def embedding_inputs(given: Any) -> int:
    """How many inputs an embeddings request's ``input`` counts for: a string, or a list of token ids,
    is one; a list of strings (or of token lists) one per item. OpenAI's Batch API limits their sum
    per batch."""
    if isinstance(given, list) and not (given and all(type(i) is int for i in given)):
        return len(given)
    return 1


def validate_request_file(
    path: str, limits: PartLimits = OPENAI_LIMITS, endpoint: str | None = None
) -> RequestFileSummary:
    """Raise InvalidRequestFile listing every problem OpenAI would reject the file for, as ONE batch's input
    (within ``limits``).

    ``endpoint``, when known, is the batch's: a line with another url is refused.
    """
    size = os.path.getsize(path)
    if size == 0:
        raise InvalidRequestFile(path, ["the file is empty: a batch needs at least one request"])
    if size > limits.bytes:
        raise InvalidRequestFile(path, [f"the file is {size:,} bytes; the limit is {limits.bytes:,} bytes"])
    checker = RequestChecker(path, endpoint)
    inputs = 0
    past_limit = 0
    for checked in checker.read_file(limits.bytes):
        if isinstance(checked, ChatBlock):
            continue  # chat requests have no embedding inputs
        for lineno, _, _, line_inputs, _, _ in checked:
            inputs += line_inputs
            if not past_limit and inputs > limits.embedding_inputs:
                past_limit = lineno
    if checker.requests > limits.requests:
        checker.problems.add(
            f"the file holds {checker.requests:,} requests; the limit is {limits.requests:,}"
        )
    if past_limit:
        checker.problems.add(
            f"line {past_limit}: takes the batch past {limits.embedding_inputs:,} embedding inputs "
            f"(it has {inputs:,} over all its requests)"
        )
    return checker.finish(size)


def _shown_model(model: Any) -> str:
    return "(none)" if model is MISSING else repr(model)
