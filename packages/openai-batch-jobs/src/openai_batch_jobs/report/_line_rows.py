"""The results table a line at a time: the path that reads every shape of result line and names every
problem in the files (`results_table.write_results_table` takes it when `_columns` cannot).

Each round's lines are read as one sorted run (`_Run`) merged along the requests; each line is decoded
with msgspec, made a row (`_row`) and given to the summary, and rows go to Parquet through pyarrow's
JSON reader, a row group at a time.
"""

from __future__ import annotations

import array
import base64
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from openai_batch_jobs.errors import BatchResultError
from openai_batch_jobs.inputs.request_keys import read_requests
from openai_batch_jobs.json_lines import READ_BUFFER
from openai_batch_jobs.report.results_table import COLUMNS, ROW_GROUP_BYTES
from openai_batch_jobs.results.result_lines import (
    MISSING_RESULT,
    UNREADABLE_RESULT,
    LineKind,
    ResultLine,
    error_of,
    read_result_line,
)

if TYPE_CHECKING:
    from openai_batch_jobs.report.summary import SummaryBuilder

_ENCODER = msgspec.json.Encoder()


def write_lines(
    pa: Any,
    inputs: Sequence[str],
    runs: Sequence[tuple[str, str, int, int | None]],
    writer: Any,
    summary: SummaryBuilder | None,
    schema: Any,
    row_group_rows: int,
) -> int:
    """The table a line at a time: reads every shape of line and names every problem in the files."""
    import pyarrow.json as pa_json

    rows = 0
    with ExitStack() as stack:
        heads = [stack.enter_context(_Run(path, label, start, end)) for path, label, start, end in runs]
        group = _RowGroup(pa, pa_json, schema, pa.system_memory_pool())  # emptied at each row group
        for request in _requests(inputs):
            row = _row(request, next((run.take() for run in heads if run.head_id == request.custom_id), None))
            if summary is not None:
                summary.add(row)
            group.add(row)
            rows += 1
            if group.rows >= row_group_rows or group.bytes >= ROW_GROUP_BYTES:
                writer.write_table(group.take())
        if group.rows or not rows:
            writer.write_table(group.take())
        for run in heads:
            run.check_done()
    return rows


class _Run:
    """One round's lines of a result file, read in order: the head line waits for its request."""

    def __init__(self, path: str, label: str, start: int, end: int | None) -> None:
        self._label = label
        self._stream = open(path, "rb", buffering=READ_BUFFER)  # noqa: SIM115  (closed by __exit__)
        self._start = start
        self._left = end - start if end is not None else None
        self.head_id: str | None = None
        self._head: ResultLine | None = None

    def take(self) -> ResultLine:
        """The head line; the next one becomes the head."""
        assert self._head is not None
        taken = self._head
        self._advance()
        return taken

    def check_done(self) -> None:
        if self._head is not None:
            raise BatchResultError(
                f"The results table was written, but {self._label} has a line for request {self.head_id!r} "
                "out of the order of the job's requests (or for no request of the job): the file was "
                "changed since the collect step wrote it"
            )

    def _advance(self) -> None:
        self._head = self.head_id = None
        while self._left is None or self._left > 0:
            raw = self._stream.readline()
            if not raw:
                return
            if self._left is not None:
                self._left -= len(raw)
            if not raw.isspace():
                self._head = read_result_line(raw)
                self.head_id = self._head.custom_id
                return

    def __enter__(self) -> _Run:
        try:
            self._stream.seek(self._start)
            self._advance()
        except BaseException:
            self._stream.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self._stream.close()


@dataclass(frozen=True)
class _Request:
    custom_id: str
    model: str | None


def _requests(inputs: Sequence[str]) -> Iterator[_Request]:
    for path in inputs:
        for _, custom_id, model in read_requests(path):
            yield _Request(custom_id, model)


def _row(request: _Request, line: ResultLine | None) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row["custom_id"], row["model"] = request.custom_id, request.model
    if line is None:
        row.update(
            status="missing", error_code=MISSING_RESULT, error_message="no result file has a line for it"
        )
        return row
    if line.record is None:
        row.update(
            status="failed", error_code=UNREADABLE_RESULT, error_message=f"its result line {line.problem}"
        )
        return row
    record = line.record
    attempts = record.get("attempts")
    row["attempts"] = attempts if isinstance(attempts, int) else None
    status, code, message = error_of(record)
    row["http_status"] = status
    if line.kind is not LineKind.SUCCEEDED:
        missing = code == MISSING_RESULT
        row.update(status="missing" if missing else "failed", error_code=code, error_message=message)
        return row
    row["status"] = "succeeded"
    body = record["response"].get("body")
    if isinstance(body, dict):
        row.update(_answer(body))
    return row


def _answer(body: Mapping[str, Any]) -> dict[str, Any]:
    """Text or embedding, finish reason, output count and tokens of an answer, whatever its endpoint."""
    found: dict[str, Any] = {}
    choices = body.get("choices")
    data = body.get("data")
    if isinstance(choices, list) and choices:  # chat completions, completions
        first = choices[0] if isinstance(choices[0], dict) else {}
        message = first.get("message")
        text = message.get("content") if isinstance(message, dict) else first.get("text")
        found.update(text=_str(text), finish_reason=_str(first.get("finish_reason")), outputs=len(choices))
    elif isinstance(data, list) and data:  # embeddings
        first = data[0] if isinstance(data[0], dict) else {}
        found.update(embedding=_vector(first.get("embedding")), outputs=len(data))
    elif body.get("object") == "response":  # responses
        messages = [
            item
            for item in body.get("output") or []
            if isinstance(item, dict) and item.get("type") == "message"
        ]
        texts = [
            part.get("text")
            for item in messages
            for part in item.get("content") or []
            if isinstance(part, dict) and part.get("type") == "output_text"
        ]
        details = body.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        found.update(
            text="".join(t for t in texts if isinstance(t, str)) if texts else None,
            finish_reason=_str(reason or body.get("status")),
            outputs=len(messages),
        )
    elif isinstance(body.get("results"), list):  # moderations
        found["outputs"] = len(body["results"])
    usage = body.get("usage")
    if isinstance(usage, dict):
        found["prompt_tokens"] = _int(usage.get("prompt_tokens", usage.get("input_tokens")))
        found["completion_tokens"] = _int(usage.get("completion_tokens", usage.get("output_tokens")))
    return found


def _vector(embedding: Any) -> list[float] | None:
    if isinstance(embedding, list):
        return [float(x) for x in embedding]
    if isinstance(embedding, str):  # encoding_format "base64": little-endian float32s
        values = array.array("f")
        values.frombytes(base64.b64decode(embedding))
        return values.tolist()
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _RowGroup:
    """Rows as JSON lines, which pyarrow's JSON reader turns into columns in C++ (and, unlike building
    arrays from Python lists, without importing pandas when it is installed)."""

    def __init__(self, pa: Any, pa_json: Any, schema: Any, pool: Any) -> None:
        self._pa, self._pa_json, self._schema, self._pool = pa, pa_json, schema, pool
        self._lines = bytearray()
        self.rows = 0

    @property
    def bytes(self) -> int:
        return len(self._lines)

    def add(self, row: dict[str, Any]) -> None:
        _ENCODER.encode_into(row, self._lines, -1)
        self._lines += b"\n"
        self.rows += 1

    def take(self) -> Any:
        """The rows so far as an Arrow table; the group starts empty again."""
        pa, pa_json = self._pa, self._pa_json
        lines, self._lines, self.rows = bytes(self._lines), bytearray(), 0
        if not lines:
            return pa.Table.from_batches([], schema=self._schema)
        return pa_json.read_json(
            pa.BufferReader(lines),
            read_options=pa_json.ReadOptions(use_threads=False, block_size=max(len(lines), 1 << 20)),
            parse_options=pa_json.ParseOptions(
                explicit_schema=self._schema, unexpected_field_behavior="error"
            ),
            memory_pool=self._pool,
        )
