"""The one place OpenAI clients are built, for the file tasks and for the connectors.

Every component resolves ``base_url`` and organization the same way and tells the SDK how to retry
from the retry policy its calls run under (see `retry`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from openai_batch_jobs.api._sdk import openai
from openai_batch_jobs.api.retry import TRANSFER, RetryPolicy

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI


BASE_URL_ENV = "OPENAI_BASE_URL"


def resolve_base_url(explicit: str | None) -> str | None:
    """Explicit setting first, then the environment; None means OpenAI's own endpoint."""
    return explicit or os.environ.get(BASE_URL_ENV) or None


def make_client(
    api_key: str,
    *,
    organization: str | None = None,
    base_url: str | None = None,
    retry: RetryPolicy = TRANSFER,
    timeout: float | None = None,
) -> OpenAI:
    """An SDK client for calls under ``retry``: the SDK retries them itself only if the policy says so.

    ``timeout`` (seconds per request) defaults to the policy's ``request_timeout_s``, else the SDK's.
    """
    return openai.OpenAI(**_client_options(api_key, organization, base_url, retry, timeout))


def make_async_client(
    api_key: str,
    *,
    organization: str | None = None,
    base_url: str | None = None,
    retry: RetryPolicy = TRANSFER,
    timeout: float | None = None,
) -> AsyncOpenAI:
    """As `make_client`, for callers on an event loop, where a call can be cancelled at a deadline."""
    return openai.AsyncOpenAI(**_client_options(api_key, organization, base_url, retry, timeout))


def _client_options(
    api_key: str, organization: str | None, base_url: str | None, retry: RetryPolicy, timeout: float | None
) -> dict[str, Any]:
    options: dict[str, Any] = {
        "api_key": api_key,
        "organization": organization or None,
        "base_url": resolve_base_url(base_url),
        "max_retries": retry.sdk_max_retries,
    }
    timeout = timeout if timeout is not None else retry.request_timeout_s
    if timeout is not None:
        options["timeout"] = timeout
    return options
