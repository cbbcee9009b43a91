"""The one place OpenAI clients are built, for the file tasks and for the batch and ChatGPT connectors.

Keeping it here means every component resolves ``base_url``, organization and retry policy the same way,
and reads the API key from the same places without ever writing it down.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import flytekit
from flytekit import lazy_module

from .config import DEFAULT_MAX_RETRIES
from .errors import MissingSecret

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI

openai = lazy_module("openai")

BASE_URL_ENV = "OPENAI_BASE_URL"


def resolve_base_url(explicit: str | None) -> str | None:
    """Explicit setting first, then the environment; None means OpenAI's own endpoint."""
    return explicit or os.environ.get(BASE_URL_ENV) or None


def make_client(
    api_key: str,
    *,
    organization: str | None = None,
    base_url: str | None = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
    timeout: float | None = None,
) -> OpenAI:
    """An SDK client whose built-in retries cover 429 (honouring Retry-After), 5xx and dropped connections."""
    return openai.OpenAI(**_client_options(api_key, organization, base_url, max_retries, timeout))


def make_async_client(
    api_key: str,
    *,
    organization: str | None = None,
    base_url: str | None = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
    timeout: float | None = None,
) -> AsyncOpenAI:
    """As `make_client`, for callers on an event loop, where a call can be cancelled at a deadline."""
    return openai.AsyncOpenAI(**_client_options(api_key, organization, base_url, max_retries, timeout))


def _client_options(
    api_key: str, organization: str | None, base_url: str | None, max_retries: int, timeout: float | None
) -> dict[str, Any]:
    options: dict[str, Any] = {
        "api_key": api_key,
        "organization": organization or None,
        "base_url": resolve_base_url(base_url),
        "max_retries": max_retries,
    }
    if timeout is not None:
        options["timeout"] = timeout
    return options


def api_key_from_secret(secret_arg: Mapping[str, Any]) -> str:
    """Read the API key from the Flyte secret named in a task template; fail naming the secret, not its value."""
    group = secret_arg.get("group")
    key = secret_arg.get("key")
    group_version = secret_arg.get("group_version")
    try:
        value = flytekit.current_context().secrets.get(group=group, key=key, group_version=group_version)
    except ValueError:
        raise MissingSecret(group, key, group_version) from None
    if not value:
        raise MissingSecret(group, key, group_version)
    return value


def client_from_custom(custom: Mapping[str, Any]) -> tuple[OpenAI, str]:
    """Build the client an executor needs from its template's ``custom``; also returns the key for redaction."""
    api_key = api_key_from_secret(custom["secret_arg"])
    client = make_client(
        api_key,
        organization=custom.get("openai_organization"),
        base_url=custom.get("base_url"),
        max_retries=int(custom.get("max_retries", DEFAULT_MAX_RETRIES)),
    )
    return client, api_key


def transient_errors() -> tuple[type[BaseException], ...]:
    """Exceptions meaning the connection failed (possibly mid-body), so the same request may be tried again.

    The SDK wraps failures before a response arrives in APIConnectionError; a body cut while streaming
    surfaces as the HTTP library's TransportError (httpx2 in openai 3, httpx before).
    """
    errors: list[type[BaseException]] = [openai.APIConnectionError]
    for name in ("httpx2", "httpx"):
        try:
            errors.append(importlib.import_module(name).TransportError)
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


def is_transient(error: BaseException) -> bool:
    """Whether the same request may succeed if sent again: lost connections, 408, 409, 429 and 5xx."""
    if isinstance(error, transient_errors()):
        return True
    status = getattr(error, "status_code", None) if isinstance(error, openai.APIStatusError) else None
    return isinstance(status, int) and (status in (408, 409, 429) or status >= 500)


def describe_failure(
    action: str, error: BaseException, api_key: str | None, max_retries: int | None = None
) -> str:
    """A one-line, key-free account of why a request failed; with ``max_retries``, whether they were spent."""
    retried = ""
    if max_retries is not None:
        retried = f" (after {max_retries} retries)" if is_transient(error) else " (not retried)"
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        text = f"{action} failed: HTTP {status}{retried}: {getattr(error, 'message', error)}"
    else:
        text = f"{action} failed: connection error{retried}: {type(error).__name__}: {error}"
    return redact(text, api_key)


# OpenAI keys (sk-..., sk-proj-..., sk-svcacct-...) and bearer tokens, whoever's they are: servers and
# proxies echo them in error bodies. The first characters of a key are kept to tell keys apart.
_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-]{3})[A-Za-z0-9_\-]+")
_BEARER_PATTERN = re.compile(r"(\bBearer\s+[\"']?)[^\s\"',;]+", re.IGNORECASE)


def redact(text: str, secret: str | None = None) -> str:
    """Remove ``secret`` and anything shaped like an API key from text that may be shown to people."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
    text = _BEARER_PATTERN.sub(r"\1***", text)
    return _KEY_PATTERN.sub(r"\1***", text)
