"""The one place OpenAI clients are built, for the file tasks and for the batch connector.

Keeping it here means every component resolves ``base_url``, organization and retry policy the same way,
and reads the API key from the same places without ever writing it down.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import flytekit
from flytekit import lazy_module

from .config import DEFAULT_MAX_RETRIES
from .errors import MissingSecret

if TYPE_CHECKING:
    from openai import OpenAI

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
    kwargs: dict[str, Any] = {
        "api_key": api_key,
        "organization": organization or None,
        "base_url": resolve_base_url(base_url),
        "max_retries": max_retries,
    }
    if timeout is not None:
        kwargs["timeout"] = timeout
    return openai.OpenAI(**kwargs)


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


def describe_failure(action: str, error: BaseException, max_retries: int, api_key: str | None) -> str:
    """A one-line, key-free account of why a request failed and whether retries were spent on it."""
    status = getattr(error, "status_code", None)
    if status is None:
        text = f"{action} failed: connection error ({error}) after {max_retries} retries"
    else:
        retried = (
            f"after {max_retries} retries" if status in (408, 409, 429) or status >= 500 else "not retried"
        )
        text = f"{action} failed with HTTP {status} ({retried}): {getattr(error, 'message', error)}"
    return redact(text, api_key)


def redact(text: str, secret: str | None) -> str:
    """Remove a secret from text that may be shown to people (error messages from servers echo keys)."""
    if secret and len(secret) >= 4:
        return text.replace(secret, "***")
    return text
