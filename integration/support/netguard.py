"""Refuse every outgoing connection while cassettes replay.

A replaying test must be answered by its cassette alone: if the code under test ever reached for the
network, CI (which has no server to offer) would see a different test from the developer. The guard
replaces the socket entry points for the duration of a test and remembers each attempt, so the test
fails with the address it tried even when the caller (the OpenAI SDK retries and wraps every error)
swallowed the exception.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn


class NetworkBlocked(RuntimeError):
    """A connection was attempted while replaying cassettes."""


class Attempts(list[str]):
    """Addresses the code under test tried to reach."""


@contextmanager
def network_blocked() -> Iterator[Attempts]:
    attempts = Attempts()

    def refuse(where: Any) -> NoReturn:
        attempts.append(repr(where))
        raise NetworkBlocked(f"network access while replaying a cassette: {where!r}")

    def connect(self: socket.socket, address: Any) -> None:
        refuse(address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        refuse(address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        refuse(address)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        refuse((host, port))

    saved = {
        (socket.socket, "connect"): socket.socket.connect,
        (socket.socket, "connect_ex"): socket.socket.connect_ex,
        (socket, "create_connection"): socket.create_connection,
        (socket, "getaddrinfo"): socket.getaddrinfo,
    }
    replacements = {
        (socket.socket, "connect"): connect,
        (socket.socket, "connect_ex"): connect_ex,
        (socket, "create_connection"): create_connection,
        (socket, "getaddrinfo"): getaddrinfo,
    }
    for (owner, name), replacement in replacements.items():
        setattr(owner, name, replacement)
    try:
        yield attempts
    finally:
        for (owner, name), original in saved.items():
            setattr(owner, name, original)
