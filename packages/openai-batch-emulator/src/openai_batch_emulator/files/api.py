"""The Files API. Uploads go from the socket to a temp file in the data directory, chunk by chunk, so a
200 MB request file never sits in memory; downloads are streamed the same way."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO, Any

import anyio
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .._lists import int_param, list_page, page_after
from ..errors import ApiError, bad_request, invalid_value, not_found
from ..settings import Settings
from .store import DataDir, FileRecord, FileStore

UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
DEFAULT_BATCH_FILE_SECONDS = 30 * 24 * 3600  # OpenAI expires `batch` files after 30 days
MAX_FIELD_BYTES = 64 * 1024
CHUNK_BYTES = 1024 * 1024


class _UploadParser:
    """Multipart callbacks: the `file` part streams into `target`, other parts are small text fields."""

    def __init__(self, target: Path, max_file_bytes: int) -> None:
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.file_bytes = 0
        self._target = target
        self._max_file_bytes = max_file_bytes
        self._handle: IO[bytes] | None = None
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._name = ""
        self._is_file = False
        self._field = bytearray()

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _part_begin(self) -> None:
        self._disposition = b""
        self._field = bytearray()
        self._is_file = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = b""
        self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            return
        if self._name != "file":
            raise bad_request(
                f"Unexpected file field {self._name!r}; upload the file as 'file'.", param=self._name
            )
        if self.filename is not None:
            raise bad_request("Only one file can be uploaded per request.", param="file")
        self._is_file = True
        self.filename = options[b"filename"].decode("utf-8", "replace")
        self._handle = self._target.open("wb")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            assert self._handle is not None
            self.file_bytes += end - start
            if self.file_bytes > self._max_file_bytes:
                raise bad_request(
                    f"File is too large: the limit is {self._max_file_bytes} bytes.", param="file"
                )
            self._handle.write(data[start:end])
            return
        if len(self._field) + end - start > MAX_FIELD_BYTES:
            raise bad_request(f"Field {self._name!r} is too large.", param=self._name)
        self._field += data[start:end]

    def _part_end(self) -> None:
        if self._is_file:
            self.close()
        else:
            self.fields[self._name] = self._field.decode("utf-8", "replace")


class FilesApi:
    def __init__(self, data: DataDir, files: FileStore, settings: Callable[[], Settings]) -> None:
        self._data = data
        self._files = files
        self._settings = settings

    async def upload(self, request: Request) -> Response:
        content_type, params = parse_options_header(request.headers.get("content-type", ""))
        if content_type != b"multipart/form-data" or b"boundary" not in params:
            raise bad_request("Invalid Content-Type header: expected multipart/form-data with a boundary.")
        knobs: Settings = self._settings()
        target = self._data.temp_path()
        upload = _UploadParser(target, knobs.max_upload_bytes)
        parser = MultipartParser(params[b"boundary"], upload.callbacks())  # type: ignore[arg-type]
        try:
            async for chunk in request.stream():
                await run_in_threadpool(parser.write, chunk)
                await _at_link_speed(len(chunk), knobs)
            parser.finalize()
            upload.close()
            record = await run_in_threadpool(self._adopt, upload, target)
        except ApiError:
            raise
        except ValueError as exc:  # a malformed multipart body
            raise bad_request(f"Could not parse the multipart form: {exc}") from None
        finally:
            upload.close()
            target.unlink(missing_ok=True)
        return JSONResponse(record.to_api())

    def _adopt(self, upload: _UploadParser, target: Path) -> FileRecord:
        purpose = upload.fields.get("purpose")
        if upload.filename is None:
            raise bad_request(
                "Missing required parameter: 'file'.", param="file", code="missing_required_parameter"
            )
        if not purpose:
            raise bad_request(
                "Missing required parameter: 'purpose'.", param="purpose", code="missing_required_parameter"
            )
        if purpose not in UPLOAD_PURPOSES:
            raise invalid_value(purpose, UPLOAD_PURPOSES, param="purpose")
        if purpose == "batch" and not upload.filename.endswith(".jsonl"):
            raise bad_request("Invalid file format for Batch API. Must be .jsonl", param="file")
        now = time.time()
        expires_after = _expires_after(upload.fields)
        if expires_after is None and purpose == "batch":
            expires_after = DEFAULT_BATCH_FILE_SECONDS
        expires_at = None if expires_after is None else int(now) + expires_after
        return self._files.add(
            target, filename=upload.filename, purpose=purpose, created=now, expires_at=expires_at
        )

    async def listing(self, request: Request) -> Response:
        query = request.query_params
        limit = int_param(query.get("limit"), "limit", default=10_000, low=1, high=10_000)
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise bad_request(
                f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.",
                param="order",
                code="invalid_value",
            )
        records = self._files.listing()
        if order == "desc":
            records.reverse()
        purpose = query.get("purpose")
        if purpose:
            records = [r for r in records if r.purpose == purpose]
        after = query.get("after")
        rest = page_after(records, after, f"Invalid 'after': no file with id '{after}' in this listing.")
        page = [r.to_api() for r in rest[:limit]]
        return JSONResponse(list_page(page, has_more=len(rest) > limit))

    def _record(self, request: Request) -> FileRecord:
        file_id = request.path_params["file_id"]
        record = self._files.get(file_id)
        if record is None:
            raise not_found(f"No such File object: {file_id}", param="id")
        return record

    async def retrieve(self, request: Request) -> Response:
        return JSONResponse(self._record(request).to_api())

    async def delete(self, request: Request) -> Response:
        record = self._record(request)
        if not await run_in_threadpool(self._files.delete, record.id):
            raise not_found(f"No such File object: {record.id}", param="id")
        return JSONResponse({"id": record.id, "object": "file", "deleted": True})

    async def content(self, request: Request) -> Response:
        record = self._record(request)
        try:
            # Opened now: a delete while the download runs cannot cut it short.
            handle = await run_in_threadpool(self._files.content_path(record.id).open, "rb")
        except FileNotFoundError:
            raise not_found(f"No such File object: {record.id}", param="id") from None
        self._files.note_download(record.id)
        return StreamingResponse(
            _chunks(handle, self._settings()),
            media_type="application/octet-stream",
            headers={"content-length": str(record.bytes)},
        )


async def _chunks(handle: IO[bytes], knobs: Settings) -> AsyncIterator[bytes]:
    try:
        while chunk := await anyio.to_thread.run_sync(handle.read, CHUNK_BYTES):
            await _at_link_speed(len(chunk), knobs)
            yield chunk
    finally:
        handle.close()


async def _at_link_speed(size: int, knobs: Settings) -> None:
    """Take as long over `size` bytes as `transfer_bytes_per_second` allows (a slow link)."""
    if knobs.transfer_bytes_per_second:
        await asyncio.sleep(size / knobs.transfer_bytes_per_second)


def _expires_after(fields: dict[str, str]) -> int | None:
    anchor = fields.get("expires_after[anchor]")
    seconds = fields.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return None
    if anchor != "created_at":
        raise bad_request(
            "Invalid 'expires_after[anchor]': must be 'created_at'.", param="expires_after.anchor"
        )
    try:
        value = int(seconds or "")
    except ValueError:
        value = -1
    if not 3600 <= value <= 2_592_000:
        raise bad_request(
            "Invalid 'expires_after[seconds]': must be an integer between 3600 and 2592000.",
            param="expires_after.seconds",
        )
    return value
