"""Which servers a shared key may be sent to, and asking a server whether it takes a key.

A connector serves every task of a deployment with one key, and a task may name its own `base_url`:
without an allow-list a task author could send the shared key to a server of their choosing.
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from openai_batch_jobs.api._sdk import openai
from openai_batch_jobs.api.client import BASE_URL_ENV, make_client, resolve_base_url
from openai_batch_jobs.api.retry import TRANSFER, describe_failure
from openai_batch_jobs.errors import BaseURLNotAllowed, BatchAPIError, ServerUnreachable

# Comma-separated base URLs (or "*") a task's `base_url` may name besides OpenAI's, the connector's
# own OPENAI_BASE_URL and loopback.
ALLOWED_BASE_URLS_ENV = "FLYTE_OPENAI_ALLOWED_BASE_URLS"
OPENAI_API_URL = "https://api.openai.com/v1"


def check_connector_key(api_key: str, url: str, key_name: str, organization: str | None = None) -> None:
    """Before anything is uploaded: one cheap authenticated call (listing one batch) that tells whether
    the server at ``url`` takes the connector's key, named ``key_name`` (whose value is ``api_key``).

    Raises ServerUnreachable when no answer comes (the key is not to blame then), else BatchAPIError
    naming the key.
    """
    with make_client(api_key, organization=organization, base_url=url, retry=TRANSFER) as client:
        try:
            client.batches.list(limit=1)
        except openai.APIConnectionError as exc:
            raise ServerUnreachable(
                unreachable(url, exc, client.max_retries) + " Nothing was uploaded."
            ) from None
        except Exception as exc:
            raise BatchAPIError(
                describe_failure(
                    f"Checking the connector's key {key_name} against {url}", exc, api_key
                ).rstrip(".")
                + f". The batch step would fail with it, so nothing was uploaded: set {key_name} "
                "to a key this server accepts."
            ) from None


def unreachable(url: str, error: BaseException, retries: int | None = None) -> str:
    """``url`` gave no answer: why, as the connection failed (refused, timed out, no such host), with the
    variable that chose the server. Says nothing of keys: a server that is not there has not refused one."""
    cause = error.__cause__ or error.__context__
    reason = str(cause or error).strip() or type(cause or error).__name__
    if isinstance(error, openai.APITimeoutError):
        reason = f"timed out ({reason})" if "timed out" not in reason.lower() else reason
    tried = f" after {retries} retries" if retries else ""
    return (
        f"The server at {url} cannot be reached{tried}: {reason}. Is it running, and is the base URL right "
        f"(the task's base_url, else {BASE_URL_ENV})?"
    )


def trusted_base_url(explicit: str | None) -> str:
    """The API a task's request goes to; a task-chosen server must be one the connector trusts with its key.

    Trusted: OpenAI, the connector's own OPENAI_BASE_URL, loopback, and `FLYTE_OPENAI_ALLOWED_BASE_URLS`.
    """
    url = (resolve_base_url(explicit) or OPENAI_API_URL).rstrip("/")
    if not explicit:
        return url
    allowed = {OPENAI_API_URL, os.environ.get(BASE_URL_ENV, "").rstrip("/")}
    allowed |= {u.strip().rstrip("/") for u in os.environ.get(ALLOWED_BASE_URLS_ENV, "").split(",")}
    if url in allowed or "*" in allowed or is_loopback(url):
        return url
    raise BaseURLNotAllowed(
        f"base_url {url!r} of this task is not allowed by the connector, which sends its API key only to "
        f"OpenAI, its own {BASE_URL_ENV}, loopback and the URLs listed in {ALLOWED_BASE_URLS_ENV}."
    )


def is_loopback(url: str) -> bool:
    """Whether ``url`` names this machine (``localhost`` or a loopback address)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
