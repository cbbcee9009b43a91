"""What a responder is given besides the request body (`Context`) and what it gives back (`Reply`)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from ..errors import error_body


@dataclass
class Reply:
    """What one request produced: an HTTP status, its body and the tokens it used."""

    status_code: int
    body: dict[str, Any]
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class Context:
    """A stable seed of the request, the processing time, and the model names that exist."""

    seed: str
    created: int
    known_models: re.Pattern[str]


def digest(*parts: str) -> str:
    """A hex digest of `parts`: what a made-up answer derives its numbers and colours from."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def client_error(message: str, *, param: str | None = None, code: str | None = None) -> Reply:
    return Reply(400, error_body(message, param=param, code=code))


def missing(param: str) -> Reply:
    """The answer to a request without a parameter its endpoint requires."""
    return client_error(
        f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
    )
