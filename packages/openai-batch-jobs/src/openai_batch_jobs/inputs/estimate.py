"""How many tokens a request sends and may get back, counted in the validation pass (nothing is uploaded).

Three figures per request, each cheap enough for the pass that checks every line:

- ``prompt``, the default method: every text the request sends (chat message contents, a
  completion's prompt, embedding and moderation inputs, a response's input and instructions) counts
  its characters / 4, rounded up, and each chat message or responses input item adds
  `MESSAGE_TOKENS` (4). It is the emulator's own count (its README, "Usage") and near OpenAI's
  tokenizers on English text (about four characters a token); images, audio, files and tool
  definitions are not counted. The cost estimate's prompt tokens.
- ``bound``: prompt tokens never below a server's count, for a budget of enqueued tokens: the texts'
  UTF-8 bytes (a BPE token holds at least one byte) plus one per text, `BOUND_MESSAGE_TOKENS` per
  message or item (its role, name and framing) and `BOUND_REQUEST_TOKENS` per request (the reply's
  priming). It is at least ``prompt`` (the emulator's count) and OpenAI's (o200k_base, cl100k_base)
  for the texts it counts, and about four times ``prompt`` on English text: a budget errs safe.
- With the optional tokenizer (`OPENAI_BATCH_TOKENIZER` = ``o200k_base`` or ``cl100k_base``, and the
  engine's ``tokenizer`` extra, `bpe-openai`, which ships both encodings and needs no network), every
  text counts its tokens instead: ``prompt`` is then OpenAI's count for the texts, and ``bound`` the
  larger of that count plus the framing above and the default method's figure (the emulator counts by
  the default method). It costs about half a second to load and its memory, so it is never the default.
- ``output``: the most the answer may hold: ``max_completion_tokens``, ``max_tokens`` or
  ``max_output_tokens``, times ``n`` choices; where a request sets none, `DEFAULT_OUTPUT_TOKENS` is
  assumed and counted in ``defaulted``. Embeddings and moderations answer no tokens.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from itertools import repeat
from operator import add, attrgetter, floordiv
from typing import Any

from openai_batch_jobs.errors import OpenAIBatchError

CHARS_PER_TOKEN = 4
MESSAGE_TOKENS = 4
BOUND_MESSAGE_TOKENS = 8
BOUND_REQUEST_TOKENS = 3
# The answer's tokens assumed for a request that sets no limit: OpenAI's models stop far sooner on most
# prompts, and their ceilings (16,384 to 128,000) would make every estimate useless.
DEFAULT_OUTPUT_TOKENS = 4096
# Counting by a tokenizer instead: OpenAI's encodings, by name (the engine's `tokenizer` extra).
TOKENIZER_ENV = "OPENAI_BATCH_TOKENIZER"
TOKENIZERS = ("o200k_base", "cl100k_base")


def method() -> str:
    """How prompt tokens are counted, as the estimate line says it."""
    per_text = (
        f"{_tokenizer_name()} tokens" if _tokenizer_name() else f"characters / {CHARS_PER_TOKEN}, rounded up,"
    )
    return f"{per_text} per text, plus {MESSAGE_TOKENS} per chat message or responses input item"


def _tokenizer_name() -> str | None:
    name = os.environ.get(TOKENIZER_ENV, "").strip()
    if name and name not in TOKENIZERS:
        raise OpenAIBatchError(
            f"{TOKENIZER_ENV}={name!r} is not a tokenizer this plugin knows: use one of {TOKENIZERS}."
        )
    return name or None


@functools.lru_cache(maxsize=2)
def _encoding(name: str) -> Any:
    try:
        import bpe_openai
    except ImportError:
        raise OpenAIBatchError(
            f"{TOKENIZER_ENV}={name} needs the tokenizer: install openai-batch-jobs[tokenizer] (bpe-openai), "
            f"or unset {TOKENIZER_ENV} to count characters / {CHARS_PER_TOKEN}."
        ) from None
    return bpe_openai.get_encoding(name)


CHAT_ENDPOINT = "/v1/chat/completions"
# The body fields each endpoint's answer is limited by.
OUTPUT_LIMITS = {
    "/v1/chat/completions": ("max_completion_tokens", "max_tokens"),
    "/v1/completions": ("max_tokens",),
    "/v1/responses": ("max_output_tokens",),
}


@dataclass(frozen=True)
class RequestTokens:
    """One request's estimate (see the module's docstring)."""

    prompt: int = 0
    bound: int = 0
    output: int = 0
    defaulted: bool = False


@dataclass
class TokenTotals:
    """A file's (or a part's) estimate: the sums of its requests' figures."""

    requests: int = 0
    prompt: int = 0
    bound: int = 0
    output: int = 0
    defaulted: int = 0

    def add(self, tokens: RequestTokens) -> None:
        self.requests += 1
        self.prompt += tokens.prompt
        self.bound += tokens.bound
        self.output += tokens.output
        self.defaulted += tokens.defaulted

    def merge(self, other: TokenTotals) -> None:
        """Add the sums of other requests (a block's, or a part's)."""
        self.requests += other.requests
        self.prompt += other.prompt
        self.bound += other.bound
        self.output += other.output
        self.defaulted += other.defaulted


class _Texts:
    """The texts of one request, grouped into messages, as both counts read them (``encoding``: the
    tokenizer's, None for the default method)."""

    def __init__(self, encoding: Any) -> None:
        self.prompt = 0
        self.bound = BOUND_REQUEST_TOKENS
        self._encoding = encoding
        # The default method's count, which a budget never goes below (the emulator's own count).
        self.by_characters = 0

    def text(self, text: str) -> None:
        characters = -(-len(text) // CHARS_PER_TOKEN)
        self.by_characters += characters
        if self._encoding is None:
            self.prompt += characters
            self.bound += _utf8_length(text) + 1
        else:
            tokens = len(self._encoding.encode_ordinary(text))
            self.prompt += tokens
            self.bound += tokens + 1

    def message(self, content: Any, extra: str = "") -> None:
        """A chat message or responses item: its text parts joined with spaces, as the emulator reads them."""
        self.text(_joined(content))
        self.prompt += MESSAGE_TOKENS
        self.by_characters += MESSAGE_TOKENS
        extra_tokens = _utf8_length(extra)
        if self._encoding is not None and extra:
            extra_tokens = len(self._encoding.encode_ordinary(extra))
        self.bound += BOUND_MESSAGE_TOKENS + extra_tokens


class Estimator:
    """Estimates requests by the method the environment sets (read once, when it is made).

    Chat requests counted by characters, nearly every request of most files, take a path of their
    own: the same figures as `_Texts` gives, counted over lists (`chat_figures`), which is also how
    the validation pass estimates a whole block of them at once.
    """

    def __init__(self) -> None:
        name = _tokenizer_name()
        self._encoding = _encoding(name) if name else None

    @property
    def by_characters(self) -> bool:
        """Whether texts count their characters (the default method), not a tokenizer's tokens."""
        return self._encoding is None

    def __call__(self, url: str, body: Any) -> RequestTokens:
        """The estimate of one request to ``url`` with ``body`` (a dict, or a struct with the same fields)."""
        get = body.get if isinstance(body, dict) else lambda name: getattr(body, name, None)
        if url == CHAT_ENDPOINT and self._encoding is None:
            prompt, bound = _chat_by_characters(get("messages"))
        else:
            texts = self._texts(url, get)
            prompt, bound = texts.prompt, max(texts.bound, texts.prompt, texts.by_characters)
        output, defaulted = _output(url, get)
        return RequestTokens(prompt, bound, output, defaulted)

    def _texts(self, url: str, get: Any) -> _Texts:
        texts = _Texts(self._encoding)
        if url == CHAT_ENDPOINT:
            for message in _listed(get("messages")):
                if isinstance(message, dict):
                    texts.message(
                        message.get("content"), f"{message.get('role') or ''}{message.get('name') or ''}"
                    )
        elif url == "/v1/responses":
            given = get("input")
            if isinstance(given, str):
                texts.message(given)
            for item in _listed(given):
                if isinstance(item, dict):
                    texts.message(item.get("content"), str(item.get("role") or ""))
            instructions = get("instructions")
            if isinstance(instructions, str):
                texts.text(instructions)
        else:
            field = "prompt" if url == "/v1/completions" else "input"
            for text in _inputs(get(field)):
                texts.text(text)
        return texts


def request_tokens(url: str, body: Any) -> RequestTokens:
    """The estimate of one request to ``url`` with ``body`` (a dict, or a struct with the same fields)."""
    return Estimator()(url, body)


def _chat_by_characters(messages: Any) -> tuple[int, int]:
    """(prompt, bound) of a chat request's messages by the default method (`chat_figures`)."""
    listed = [message for message in _listed(messages) if isinstance(message, dict)]
    texts = [_joined(message.get("content")) for message in listed]
    extras = [f"{message.get('role') or ''}{message.get('name') or ''}" for message in listed]
    return chat_figures(texts, extras, 1)


def chat_figures(texts: list[str], extras: list[str], requests: int) -> tuple[int, int]:
    """(prompt, bound) of ``requests`` chat requests by the default method, summed: `_Texts.message`
    for each message, with its texts joined (``texts``, one a message) and its role and name
    (``extras``: only their total size counts, so they may come in any grouping).

    Whole lists at a time, through ``map`` over C functions: the validation pass estimates every
    request, and a block of them costs no Python per message this way. The bound is never below the
    prompt: each text's bytes are at least its characters / 4.
    """
    lengths = list(map(len, texts))
    prompt = sum(map(floordiv, map(add, lengths, repeat(CHARS_PER_TOKEN - 1)), repeat(CHARS_PER_TOKEN)))
    bound = BOUND_REQUEST_TOKENS * requests + (1 + BOUND_MESSAGE_TOKENS) * len(texts)
    bound += _utf8_total(texts, lengths) + _utf8_total(extras, list(map(len, extras)))
    return prompt + MESSAGE_TOKENS * len(texts), bound


def chat_outputs(bodies: list[Any]) -> tuple[int, int]:
    """(output, defaulted) of chat request bodies (structs whose ``n``, ``max_completion_tokens`` and
    ``max_tokens`` are an int or None), summed: `_output` of each. Bodies that all set ``max_tokens``
    alone, as most files do, are summed in one call."""
    if not any(map(_CHOICES, bodies)) and set(map(_FIRST_LIMIT, bodies)) == {None}:
        limits = list(map(_SECOND_LIMIT, bodies))
        if None not in limits and min(limits, default=0) >= 0:
            return sum(limits), 0
    output = defaulted = 0
    for body in bodies:
        tokens, assumed = _output(CHAT_ENDPOINT, functools.partial(getattr, body))
        output += tokens
        defaulted += assumed
    return output, defaulted


_CHOICES = attrgetter("n")
_FIRST_LIMIT, _SECOND_LIMIT = map(attrgetter, OUTPUT_LIMITS[CHAT_ENDPOINT])


def _utf8_total(texts: list[str], lengths: list[int]) -> int:
    # An ASCII string's length is its UTF-8 size, and CPython knows a string is ASCII without reading it.
    return sum(lengths) if all(map(str.isascii, texts)) else sum(map(_utf8_length, texts))


def _utf8_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _listed(given: Any) -> list[Any]:
    return given if isinstance(given, list) else []


def _joined(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def _inputs(given: Any) -> list[str]:
    """A prompt's or an input's texts: a string, several, or tokens (counted as their JSON)."""
    if given is None or given == "" or given == []:
        return []
    if isinstance(given, str):
        return [given]
    if isinstance(given, list) and not all(isinstance(x, int) for x in given):
        return [x if isinstance(x, str) else json.dumps(x) for x in given]
    return [json.dumps(given)]


def _output(url: str, get: Any) -> tuple[int, bool]:
    names = OUTPUT_LIMITS.get(url)
    if names is None:
        return 0, False
    choices = get("n") if url != "/v1/responses" else 1
    # `type(x) is int` leaves out booleans, which JSON's true and false decode to.
    choices = choices if type(choices) is int and choices > 0 else 1
    for name in names:
        limit = get(name)
        if type(limit) is int and limit >= 0:
            return limit * choices, False
    return DEFAULT_OUTPUT_TOKENS * choices, True
