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
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flytekitplugins.openai.core.errors import BatchResultError

from .config import READ_BUFFER
from .result_index import ResultIndex
from .result_lines import MISSING_RESULT, UNREADABLE_RESULT, LineKind, error_of

if TYPE_CHECKING:
    from flytekit.types.structured import StructuredDataset

    from .summary import SummaryBuilder

ROW_GROUP_ROWS = 10_000
# A row group is also closed once its answers took this many bytes as JSON (embeddings are large).
ROW_GROUP_BYTES = 32 << 20
# flytekit's Parquet handlers read a directory of Parquet files; the table is its one file.
TABLE_FILE = "00000"

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
    """A written table: the directory holding it (what a StructuredDataset points at) and its row count."""

    directory: str
    rows: int

    def dataset(self) -> StructuredDataset:
        """The table as a Flyte StructuredDataset (Parquet), for a task output or a BatchResult field."""
        from flytekit.types.structured import StructuredDataset

        return StructuredDataset(uri=self.directory, file_format="parquet")


def write_results_table(
    inputs: Sequence[str],
    output_path: str | None,
    error_path: str | None,
    directory: str,
    *,
    workdir: str,
    summary: SummaryBuilder | None = None,
    row_group_rows: int = ROW_GROUP_ROWS,
) -> ResultsTable:
    """Write the table of every request in ``inputs`` (the job's request files, in order) to ``directory``.

    ``output_path`` and ``error_path`` are the job's final output and error files (`collect_round`'s, or
    a single batch's). Each row is also given to ``summary`` when one is passed, so the totals of the
    deck and the JSON summary come from the same single pass.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema(pa)
    Path(directory).mkdir(parents=True, exist_ok=True)
    index_path = Path(workdir) / ".results-table.sqlite"
    index_path.unlink(missing_ok=True)
    rows = 0
    try:
        with (
            ResultIndex(index_path) as index,
            pq.ParquetWriter(str(Path(directory) / TABLE_FILE), schema) as writer,
        ):
            for path, label in ((output_path, "output file"), (error_path, "error file")):
                if path:
                    index.add_file(path, f"the {label}")
            group = _RowGroup()
            for request in _requests(inputs):
                row = _row(request, index)
                if summary is not None:
                    summary.add(row)
                group.add(row)
                rows += 1
                if group.rows >= row_group_rows or group.bytes >= ROW_GROUP_BYTES:
                    writer.write_table(group.table(pa, schema))
                    group = _RowGroup()
            if group.rows or not rows:
                writer.write_table(group.table(pa, schema))
    finally:
        index_path.unlink(missing_ok=True)
    return ResultsTable(directory, rows)


@dataclass(frozen=True)
class _Request:
    custom_id: str
    model: str | None


def _requests(inputs: Sequence[str]) -> Iterator[_Request]:
    for path in inputs:
        with open(path, "rb", buffering=READ_BUFFER) as stream:
            for line_number, raw in enumerate(stream, start=1):
                if not raw.strip():
                    continue
                try:
                    request = json.loads(raw)
                    custom_id = request["custom_id"]
                    body = request.get("body")
                except (ValueError, KeyError, TypeError, AttributeError):
                    custom_id = body = None
                if not isinstance(custom_id, str):
                    raise BatchResultError(
                        f"Line {line_number} of the request file {path} has no readable custom_id; the file "
                        "changed since it was validated and uploaded"
                    )
                model = body.get("model") if isinstance(body, Mapping) else None
                yield _Request(custom_id, model if isinstance(model, str) else None)


def _row(request: _Request, index: ResultIndex) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row["custom_id"], row["model"] = request.custom_id, request.model
    found = index.find(request.custom_id)
    if found is None:
        row.update(
            status="missing", error_code=MISSING_RESULT, error_message="no result file has a line for it"
        )
        return row
    raw = index.read_line(found)
    row["_bytes"] = len(raw)
    if found.kind is LineKind.UNREADABLE:
        row.update(
            status="failed", error_code=UNREADABLE_RESULT, error_message=f"its result line {found.problem}"
        )
        return row
    record = json.loads(raw)
    attempts = record.get("attempts")
    row["attempts"] = attempts if isinstance(attempts, int) else None
    status, code, message = error_of(record)
    row["http_status"] = status
    if found.kind is not LineKind.SUCCEEDED:
        missing = code == MISSING_RESULT
        row.update(status="missing" if missing else "failed", error_code=code, error_message=message)
        return row
    row["status"] = "succeeded"
    body = record["response"].get("body")
    if isinstance(body, Mapping):
        row.update(_answer(body))
    return row


def _answer(body: Mapping[str, Any]) -> dict[str, Any]:
    """Text or embedding, finish reason, output count and tokens of an answer, whatever its endpoint."""
    found: dict[str, Any] = {}
    choices = body.get("choices")
    data = body.get("data")
    if isinstance(choices, list) and choices:  # chat completions, completions
        first = choices[0] if isinstance(choices[0], Mapping) else {}
        message = first.get("message")
        text = message.get("content") if isinstance(message, Mapping) else first.get("text")
        found.update(text=_str(text), finish_reason=_str(first.get("finish_reason")), outputs=len(choices))
    elif isinstance(data, list) and data:  # embeddings
        first = data[0] if isinstance(data[0], Mapping) else {}
        found.update(embedding=_vector(first.get("embedding")), outputs=len(data))
    elif body.get("object") == "response":  # responses
        messages = [
            item
            for item in body.get("output") or []
            if isinstance(item, Mapping) and item.get("type") == "message"
        ]
        texts = [
            part.get("text")
            for item in messages
            for part in item.get("content") or []
            if isinstance(part, Mapping) and part.get("type") == "output_text"
        ]
        details = body.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, Mapping) else None
        found.update(
            text="".join(t for t in texts if isinstance(t, str)) if texts else None,
            finish_reason=_str(reason or body.get("status")),
            outputs=len(messages),
        )
    elif isinstance(body.get("results"), list):  # moderations
        found["outputs"] = len(body["results"])
    usage = body.get("usage")
    if isinstance(usage, Mapping):
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
    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
        self.rows = 0
        self.bytes = 0

    def add(self, row: dict[str, Any]) -> None:
        for name in COLUMNS:
            self.columns[name].append(row[name])
        self.rows += 1
        self.bytes += row.get("_bytes", 0)

    def table(self, pa: Any, schema: Any) -> Any:
        return pa.Table.from_pydict(self.columns, schema=schema)


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
