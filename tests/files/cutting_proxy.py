"""A TCP proxy in front of the emulator that cuts chosen responses mid-body, as a broken network would.

The emulator's own "drop" fault closes a connection before any response byte; this proxy covers the
other case, a download that starts and then breaks off. It forwards bytes untouched otherwise.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class CuttingProxy:
    def __init__(self, upstream_port: int) -> None:
        self._upstream = ("127.0.0.1", upstream_port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._cuts_left = 0
        self._cut_after = 0
        self._match = b""
        self.cuts_done = 0
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def cut(self, count: int, after_bytes: int, path_contains: bytes = b"/content") -> None:
        """Cut the responses to the next ``count`` GET requests whose path contains ``path_contains``."""
        with self._lock:
            self._cuts_left, self._cut_after, self._match = count, after_bytes, path_contains

    def close(self) -> None:
        self._closed.set()
        self._server.close()

    def __enter__(self) -> CuttingProxy:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            state = {"cut_at": -1, "sent": 0}
            threading.Thread(target=self._requests, args=(client, upstream, state), daemon=True).start()
            threading.Thread(target=self._responses, args=(upstream, client, state), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket, state: dict[str, int]) -> None:
        try:
            while data := client.recv(65536):
                first_line = data.split(b"\r\n", 1)[0]
                if first_line.startswith(b"GET ") and self._match in first_line:
                    with self._lock:
                        if self._cuts_left > 0:
                            self._cuts_left -= 1
                            state["cut_at"] = state["sent"] + self._cut_after
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            _close(client, upstream)

    def _responses(self, upstream: socket.socket, client: socket.socket, state: dict[str, int]) -> None:
        try:
            while data := upstream.recv(65536):
                cut_at = state["cut_at"]
                if cut_at >= 0 and state["sent"] + len(data) >= cut_at:
                    client.sendall(data[: cut_at - state["sent"]])
                    with self._lock:
                        self.cuts_done += 1
                    break
                client.sendall(data)
                state["sent"] += len(data)
        except OSError:
            pass
        finally:
            _close(client, upstream)


def _close(*sockets: socket.socket) -> None:
    for s in sockets:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        s.close()
