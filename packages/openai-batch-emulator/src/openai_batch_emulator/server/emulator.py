"""`Emulator`: the server in a background thread of the current process, for tests and notebooks."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn

from ..faults.injector import Fault
from ..forwarding.options import ForwardOptions
from ..settings import Settings
from ._app import create_app
from ._runtime import Runtime

if TYPE_CHECKING:
    import openai

DUMMY_API_KEY = "sk-emulator"
STARTUP_TIMEOUT_SECONDS = 30.0


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket; with port 0 the OS picks a free port, with no race against other processes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it; without it, keep-alive clients wait ~40 ms per answer
    # (Nagle's algorithm against delayed ACKs) on servers started from a socket.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _PromptServer(uvicorn.Server):
    """A uvicorn server that stops as soon as asked, not at its next 0.1 s tick: tests start and stop
    one emulator each, and those ticks add up."""

    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    def request_exit(self) -> None:
        self.should_exit = True
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop may already be closed
                self._loop.call_soon_threadsafe(self._wake.set)


class Emulator:
    """A running emulator. `with Emulator(data_dir=path) as emu:` — then point an OpenAI client at
    `emu.base_url` with `emu.api_key`.

    With `data_dir=None` a temporary directory is used and removed on stop. With `api_key=None` any
    non-empty key is accepted and `api_key` is a dummy one. Other keyword arguments are settings
    (see `Settings`), e.g. `Emulator(requests_per_second=5, completion_window_seconds=1)`.
    With `forward=ForwardOptions(url=...)` batches are answered by that server (see `forwarding.options`).
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        api_key: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        forward: ForwardOptions | None = None,
        **settings: Any,
    ) -> None:
        self._own_dir = data_dir is None
        self.data_dir = (
            Path(tempfile.mkdtemp(prefix="openai-emulator-")) if data_dir is None else Path(data_dir)
        )
        self._required_key = api_key
        self.api_key = api_key if api_key is not None else DUMMY_API_KEY
        self.host = host
        self._port = port
        self._log_level = log_level
        self._forward = forward
        self._initial = Settings().updated(**settings)
        self._runtime: Runtime | None = None
        self._server: _PromptServer | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        runtime = Runtime(
            self.data_dir, api_key=self._required_key, settings=self._initial, forward=self._forward
        )
        try:
            sock = bind_socket(self.host, self._port)
        except OSError:
            runtime.close()
            if self._own_dir:
                shutil.rmtree(self.data_dir, ignore_errors=True)
            raise
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(runtime),
            log_level=self._log_level,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        server = _PromptServer(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="openai-emulator", daemon=True
        )
        self._runtime, self._server, self._thread = runtime, server, thread
        self._socket = sock
        thread.start()
        while not server.started:
            thread.join(0.01)
            if not thread.is_alive():
                self.stop()
                raise RuntimeError("the emulator failed to start; see the log above")
        return self

    def stop(self) -> None:
        """Stop serving, release the data directory (and delete it if it was temporary)."""
        if self._server is not None:
            self._server.request_exit()
        if self._thread is not None:
            self._thread.join(STARTUP_TIMEOUT_SECONDS)
        if self._socket is not None:
            self._socket.close()
        if self._runtime is not None:
            self._runtime.close()
        self._server = self._thread = self._runtime = self._socket = None
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses and clients ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server root, e.g. http://127.0.0.1:PORT (the control routes live under /_emulator)."""
        if self.port is None:
            raise RuntimeError("the emulator is not running")
        return f"http://{url_host(self.host)}:{self.port}"

    @property
    def base_url(self) -> str:
        """What an OpenAI client takes as `base_url`."""
        return f"{self.url}/v1"

    def client(self, **kwargs: Any) -> openai.OpenAI:
        import openai

        return openai.OpenAI(base_url=self.base_url, api_key=self.api_key, **kwargs)

    def async_client(self, **kwargs: Any) -> openai.AsyncOpenAI:
        import openai

        return openai.AsyncOpenAI(base_url=self.base_url, api_key=self.api_key, **kwargs)

    # -- knobs -------------------------------------------------------------------------------------

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("the emulator is not running")
        return self._runtime

    @property
    def settings(self) -> Settings:
        return self.runtime.settings if self._runtime is not None else self._initial

    def configure(self, **settings: Any) -> Settings:
        """Change settings; batches created from now on use them (running ones keep theirs)."""
        if self._runtime is None:
            self._initial = self._initial.updated(**settings)
            return self._initial
        return self._runtime.configure(**settings)

    def enqueued_tokens(self) -> dict[str, int]:
        """Estimated prompt tokens of the batches in flight now, per model (what the limits of
        `enqueued_token_limits` are checked against)."""
        return self.runtime.engine.enqueued_tokens()

    def downloads(self) -> dict[str, int]:
        """File id -> how many times a client has started downloading its content (GET
        /v1/files/{id}/content), deleted files included: what a test reads to know which files were read."""
        return self.runtime.files.downloads()

    def inject_fault(
        self,
        method: str,
        path: str,
        status: int | str = 500,
        count: int = 1,
        retry_after: float | None = None,
        delay: float | None = None,
    ) -> Fault:
        """The next `count` calls of `method` (or "*") to a path starting with `path` (with or without
        the /v1 prefix) answer `status` (429, 500, 502, 503), "drop" the connection unanswered, or
        are done but answered `delay` seconds "late"."""
        return self.runtime.faults.inject(
            method, path, status=status, count=count, retry_after=retry_after, delay=delay
        )

    def clear_faults(self) -> None:
        self.runtime.faults.clear()
