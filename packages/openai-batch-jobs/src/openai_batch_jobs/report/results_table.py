"""The results table: one row per input request, in input order, as Parquet a downstream task reads in one line.

    @task
    def use(results: BatchResult) -> None:
        df = results.table.open(pd.DataFrame).all()  # or pl.DataFrame with flytekitplugins-polars

Columns (`COLUMNS`): ``custom_id``; ``status`` (``succeeded``, ``failed``, or ``missing``: no result file
answered it); ``model`` (the request's); ``text`` (the first choice's text, or a response's output text);
``embedding`` (the first input's vector); ``outputs`` (how many choices or vectors the answer has: when
more than one, the others are in the output file); ``finish_reason``; ``http_status``; ``error_code`` and
``error_message``; ``prompt_tokens`` and ``completion_tokens`` (a response's input and output tokens);
``attempts``. The table is written in row groups of at most `ROW_GROUP_ROWS` rows (fewer when the
answers are large), so memory stays flat for a million rows; pyarrow is imported only here, when a
table is written.
"""

from __future__ import annotations

import array
import base64
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from openai_batch_jobs.errors import BatchResultError
from openai_batch_jobs.inputs.request_keys import read_requests
from openai_batch_jobs.json_lines import READ_BUFFER
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

ROW_GROUP_ROWS = 4096
# A row group is also closed once its rows took this many bytes as JSON (embeddings are large).
ROW_GROUP_BYTES = 8 << 20
# flytekit's Parquet handlers read a directory of Parquet files; the table is its one file.
TABLE_FILE = "00000"
_ENCODER = msgspec.json.Encoder()

COLUMNS = (
    "custom_id",
    "status",
    "model",
    "text",
    "embedding",
    "outputs",
    "finish_reason",
    "http_status",
    "error_code",
    "error_message",
    "prompt_tokens",
    "completion_tokens",
    "attempts",
)


@dataclass(frozen=True)
class ResultsTable:
    """A written table: the directory holding it (what a Flyte StructuredDataset or DataFrame points at) and its row count."""

    directory: str
    rows: int


def write_results_table(
    inputs: Sequence[str],
    output_path: str | None,
    error_path: str | None,
    directory: str,
    *,
    starts: Sequence[tuple[int, int]] = ((0, 0),),
    summary: SummaryBuilder | None = None,
    row_group_rows: int = ROW_GROUP_ROWS,
) -> ResultsTable:
    """Write the table of every request in ``inputs`` (the job's request files, in order) to ``directory``.

    ``output_path`` and ``error_path`` are the job's final output and error files, as
    `request_retry.collect_round` writes them: each round's lines in the order of the requests, after
    the rounds before. ``starts`` holds where each round's lines begin in the two files
    (`RoundReport.output_start`, `RoundReport.error_start`), so the files are read as sorted runs
    merged along the requests: one pass, no index, whatever the size of the job. Each row is also given
    to ``summary`` when one is passed, so the totals of the deck and the JSON summary come from the
    same single pass.
    """
    import pyarrow as pa
    import pyarrow.json as pa_json
    import pyarrow.parquet as pq

    schema = _schema(pa)
    # The C library's allocator gives a row group's buffers back when it is written; pyarrow's
    # default pool would keep them (tens of MB).
    pool = pa.system_memory_pool()
    Path(directory).mkdir(parents=True, exist_ok=True)
    rows = 0
    with ExitStack() as stack:
        table_path = str(Path(directory) / TABLE_FILE)
        writer = stack.enter_context(pq.ParquetWriter(table_path, schema, memory_pool=pool))
        runs = [
            stack.enter_context(_Run(path, label, start, end))
            for path, label, bounds in (
                (output_path, "the output file", [s[0] for s in starts]),
                (error_path, "the error file", [s[1] for s in starts]),
            )
            if path
            for start, end in zip(bounds, [*bounds[1:], None], strict=True)
        ]
        group = _RowGroup(pa, pa_json, schema, pool)  # one buffer, emptied at each row group
        for request in _requests(inputs):
            row = _row(request, next((run.take() for run in runs if run.head_id == request.custom_id), None))
            if summary is not None:
                summary.add(row)
            group.add(row)
            rows += 1
            if group.rows >= row_group_rows or group.bytes >= ROW_GROUP_BYTES:
                writer.write_table(group.take())
        if group.rows or not rows:
            writer.write_table(group.take())
        for run in runs:
            run.check_done()
    return ResultsTable(directory, rows)


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


def _schema(pa: Any) -> Any:
    return pa.schema(
        [
            ("custom_id", pa.string()),
            ("status", pa.string()),
            ("model", pa.string()),
            ("text", pa.string()),
            ("embedding", pa.list_(pa.float32())),
            ("outputs", pa.int32()),
            ("finish_reason", pa.string()),
            ("http_status", pa.int32()),
            ("error_code", pa.string()),
            ("error_message", pa.string()),
            ("prompt_tokens", pa.int64()),
            ("completion_tokens", pa.int64()),
            ("attempts", pa.int32()),
        ]
    )
