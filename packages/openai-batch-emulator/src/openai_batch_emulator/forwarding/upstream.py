"""The HTTP client a forwarding server sends batch requests with: keep-alive HTTP/1.1 over asyncio.

It speaks HTTP through h11 (which uvicorn already installs) rather than a client library, so the
server gains no dependency, and it does exactly what forwarding needs: POST a JSON body, read the
answer, reuse the connection. The upstream's key is a header of every request and nothing else: it
is never logged, never part of an exception's text, never written anywhere.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.parse
from dataclasses import dataclass

import h11

# Largest answer kept from the upstream: an embeddings answer of a large input list is a few MB.
MAX_BODY_BYTES = 64 * 1024 * 1024
READ_CHUNK = 65536
# Connections kept open per upstream when idle; more than the concurrency is never useful.
MAX_IDLE = 256


class UpstreamUnreachable(Exception):
    """No answer came back (refused, dropped, reset, timed out, not HTTP): worth sending again."""


@dataclass(frozen=True)
class UpstreamReply:
    status: int
    body: bytes
    request_id: str | None
    retry_after: float | None = None


def target_path(base_path: str, url: str) -> str:
    """Where a batch line's `url` goes: the base URL's path plus the line's path, less its `/v1` when
    the base already ends in `/v1` (so both `http://h:8000` and `http://h:8000/v1` work)."""
    base = base_path.rstrip("/")
    if base.endswith("/v1") and (url == "/v1" or url.startswith("/v1/")):
        url = url[3:]
    return base + url


class Upstream:
    """Keep-alive connections to one upstream server, handed out one request at a time."""

    def __init__(self, base_url: str, api_key: str | None, timeout: float) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the upstream URL must be http(s)://host[:port][/path], got {base_url!r}")
        self.base_path = parts.path
        self._host = parts.hostname
        self._tls = parts.scheme == "https"
        self._port = parts.port or (443 if self._tls else 80)
        default_port = parts.port is None
        host_header = self._host if ":" not in self._host else f"[{self._host}]"
        self._host_header = host_header if default_port else f"{host_header}:{self._port}"
        self._auth = f"Bearer {api_key}".encode() if api_key else None
        self._timeout = timeout
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, h11.Connection]] = []

    async def post(self, path: str, body: bytes) -> UpstreamReply:
        """POST `body` (JSON) to `path`; raise UpstreamUnreachable when no whole answer arrives in time."""
        try:
            return await asyncio.wait_for(self._post(path, body), self._timeout)
        except asyncio.TimeoutError:
            raise UpstreamUnreachable(f"no answer within {self._timeout:g} s") from None
        except (OSError, EOFError, h11.ProtocolError, asyncio.IncompleteReadError, ssl.SSLError) as exc:
            # The type only: some exceptions quote what was sent, and that includes the key.
            raise UpstreamUnreachable(type(exc).__name__) from None

    async def _post(self, path: str, body: bytes) -> UpstreamReply:
        reader, writer, conn = await self._connection()
        try:
            headers = [
                (b"Host", self._host_header.encode()),
                (b"Content-Type", b"application/json"),
                (b"Accept", b"application/json"),
                (b"Content-Length", str(len(body)).encode()),
                (b"User-Agent", b"openai-batch-emulator-forwarder"),
            ]
            if self._auth is not None:
                headers.append((b"Authorization", self._auth))
            request = h11.Request(method="POST", target=path.encode(), headers=headers)
            data = conn.send(request) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
            writer.write(data)
            await writer.drain()
            reply = await _read_reply(reader, conn)
        except BaseException:
            writer.close()
            raise
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE and len(self._idle) < MAX_IDLE:
            conn.start_next_cycle()
            self._idle.append((reader, writer, conn))
        else:
            writer.close()
        return reply

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, h11.Connection]:
        while self._idle:
            reader, writer, conn = self._idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer, conn
            writer.close()
        reader, writer = await asyncio.open_connection(
            self._host, self._port, ssl=ssl.create_default_context() if self._tls else None
        )
        return reader, writer, h11.Connection(h11.CLIENT)

    def close(self) -> None:
        for _, writer, _ in self._idle:
            writer.close()
        self._idle.clear()


async def _read_reply(reader: asyncio.StreamReader, conn: h11.Connection) -> UpstreamReply:
    status = 0
    request_id: str | None = None
    retry_after: float | None = None
    chunks: list[bytes] = []
    size = 0
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(READ_CHUNK)
            conn.receive_data(data)  # b"" tells h11 the peer closed
            continue
        if isinstance(event, h11.Response):
            status = event.status_code
            for name, value in event.headers:
                if name == b"x-request-id":
                    request_id = value.decode("latin-1")
                elif name in (b"retry-after-ms", b"retry-after"):
                    retry_after = _seconds(name, value, retry_after)
        elif isinstance(event, h11.Data):
            size += len(event.data)
            if size > MAX_BODY_BYTES:
                raise EOFError("answer too large")
            chunks.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            return UpstreamReply(status, b"".join(chunks), request_id, retry_after)
        elif isinstance(event, h11.ConnectionClosed):
            raise EOFError("connection closed before the answer ended")


def _seconds(name: bytes, value: bytes, known: float | None) -> float | None:
    """Retry-After in seconds; `retry-after-ms` (OpenAI's) wins over a whole-second `retry-after`."""
    try:
        number = float(value)
    except ValueError:
        return known  # an HTTP date: rare from model servers, and the backoff covers it
    if name == b"retry-after-ms":
        return number / 1000
    return known if known is not None else number
