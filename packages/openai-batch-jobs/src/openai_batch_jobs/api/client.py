"""The one place OpenAI clients are built, for the file tasks and for the connectors.

Every component resolves ``base_url`` and organization the same way and tells the SDK how to retry
from the retry policy its calls run under (see `retry`). A connector serves many calls with one key:
`shared_async_client` keeps one client (and its connection pool) per event loop, key, organization
and base URL, so a call sets up no TLS connection and builds no client of its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sys
import threading
import weakref
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from openai_batch_jobs.api._sdk import openai
from openai_batch_jobs.api.retry import TRANSFER, RetryPolicy

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAI


BASE_URL_ENV = "OPENAI_BASE_URL"
T = TypeVar("T")


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
    return openai.OpenAI(
        **_client_options(api_key, organization, base_url, retry, timeout),
        http_client=openai.DefaultHttpxClient(verify=shared_tls_context()),
    )


_tls_lock = threading.Lock()
_tls: dict[str, Any] = {}


def shared_tls_context() -> Any:
    """The process's one TLS context, built as the SDK's HTTP library builds its default (its CA
    certificates, `SSL_CERT_FILE` / `SSL_CERT_DIR`) and given to every client made here: building one
    loads the certificates, some 25 ms of CPU that a local run otherwise paid for each of its clients."""
    with _tls_lock:
        if "context" not in _tls:
            # The library the SDK was built on (httpx, or a fork of it) is the module of its types.
            library = sys.modules[type(openai.DEFAULT_CONNECTION_LIMITS).__module__.partition(".")[0]]
            _tls["context"] = library.create_ssl_context()
        return _tls["context"]


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


# A shared client's pool. The SDK's keeps up to 100 idle connections, and its HTTP library probes
# every idle one's socket at each request and each response: a connector serving a hundred calls a
# second spent a tenth of its CPU there. Its calls are short, so a few connections serve them all.
POOL_CONNECTIONS = 64
POOL_IDLE_CONNECTIONS = 8

# Per event loop (an async client's connections belong to the loop that opened them): clients by
# (key, organization, base URL). Dropped with the loop.
_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str | None, str | None], Any]]
_shared = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


def shared_async_client(api_key: str, organization: str | None, base_url: str | None) -> AsyncOpenAI:
    """The running loop's client for this key, organization and base URL, built on first use.

    It retries nothing itself (the connectors' policies run their own retries, see `retry`); each
    call gives its own timeout.
    """
    loop = asyncio.get_running_loop()
    key = (api_key, organization or None, resolve_base_url(base_url))
    with _shared_lock:
        clients = _shared.setdefault(loop, {})
        client = clients.get(key)
        if client is None:
            client = clients[key] = openai.AsyncOpenAI(
                api_key=api_key,
                organization=key[1],
                base_url=key[2],
                max_retries=0,
                http_client=_pooled_http_client(),
            )
    return client


def _pooled_http_client() -> Any:
    """The SDK's own async HTTP client (its proxies, timeouts and headers) with POOL_* connections."""
    # The SDK's limits type is that of the HTTP library it was built on (httpx, or a fork of it).
    limits = type(openai.DEFAULT_CONNECTION_LIMITS)(
        max_connections=POOL_CONNECTIONS, max_keepalive_connections=POOL_IDLE_CONNECTIONS
    )
    return openai.DefaultAsyncHttpxClient(limits=limits, verify=shared_tls_context())


async def close_shared_clients() -> None:
    """Close the running loop's shared clients: for a loop that ends before its process does."""
    with _shared_lock:
        clients = _shared.pop(asyncio.get_running_loop(), {})
    for client in clients.values():
        await client.close()


def run_on_own_loop(call: Coroutine[Any, Any, T]) -> T:
    """Run ``call`` to its end on an event loop of its own, closing the clients that loop opened: for a
    cancel from a signal or exit handler.

    Inside a running loop (a signal handler interrupts one) the call gets a new thread; elsewhere (an
    exit handler, where Python may refuse new threads) it runs here. The loop's blocking helpers (DNS)
    run inline: at interpreter exit the standard thread pool takes no more work.
    """
    outcome: dict[str, Any] = {}

    async def run() -> None:
        asyncio.get_running_loop().set_default_executor(_InlineExecutor())
        try:
            outcome["value"] = await call
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            await close_shared_clients()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(run())
    else:
        thread = threading.Thread(target=asyncio.run, args=(run(),), name="openai-batch-cancel")
        thread.start()
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each job at once in the caller's thread (`run_on_own_loop`'s loop: one cancel, no pool).
    A ThreadPoolExecutor only because asyncio accepts no other kind; it never starts a thread."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future
