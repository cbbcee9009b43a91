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
table is written. It is computed in Arrow's columns a block of requests at a time (`_columns`); files
that path does not read are written a line at a time (`_line_rows`), which reads every shape of line.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openai_batch_jobs.report._column_files import Unsupported
from openai_batch_jobs.report._columns import write_blocks

if TYPE_CHECKING:
    from openai_batch_jobs.report.summary import SummaryBuilder

ROW_GROUP_ROWS = 4096
# A row group is also closed once its rows took this many bytes as JSON (embeddings are large).
ROW_GROUP_BYTES = 8 << 20
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
    `resend.collect_round` writes them: each round's lines in the order of the requests, after
    the rounds before. ``starts`` holds where each round's lines begin in the two files
    (`RoundReport.output_start`, `RoundReport.error_start`), so the files are read as sorted runs
    merged along the requests: one pass, no index, whatever the size of the job. Each row is also given
    to ``summary`` when one is passed, so the totals of the deck and the JSON summary come from the
    same single pass.
    """
    pa, pq = _import_pyarrow()

    from openai_batch_jobs.report._line_rows import write_lines

    schema = _schema(pa)
    # The C library's allocator gives a row group's buffers back when it is written; pyarrow's
    # default pool would keep them (tens of MB).
    pool = pa.system_memory_pool()
    Path(directory).mkdir(parents=True, exist_ok=True)
    table_path = str(Path(directory) / TABLE_FILE)
    runs = [
        (path, label, start, end)
        for path, label, bounds in (
            (output_path, "the output file", [s[0] for s in starts]),
            (error_path, "the error file", [s[1] for s in starts]),
        )
        if path
        for start, end in zip(bounds, [*bounds[1:], None], strict=True)
    ]
    try:
        with pq.ParquetWriter(table_path, schema, memory_pool=pool) as writer:
            rows = write_blocks(
                pa,
                inputs,
                [(path, start, end) for path, _, start, end in runs],
                writer,
                summary,
                schema=schema,
                row_group_rows=row_group_rows,
                row_group_bytes=ROW_GROUP_BYTES,
                pool=pool,
            )
            if not rows:
                writer.write_table(schema.empty_table())
    except (Unsupported, pa.ArrowInvalid):
        if summary is not None:
            summary.clear()
        with pq.ParquetWriter(table_path, schema, memory_pool=pool) as writer:
            rows = write_lines(pa, inputs, runs, writer, summary, schema, row_group_rows)
    return ResultsTable(directory, rows)


def _import_pyarrow() -> tuple[Any, Any]:
    """pyarrow and the modules of it the table uses, imported with the process's objects so far left out
    of the garbage collector's passes: the import makes enough objects to set off a full collection,
    which in a flytekit process walks a heap of a million objects (0.1-0.2 s) that the import did
    not touch. A process that froze objects of its own (before a fork) is left as it is."""
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        modules = [
            importlib.import_module(f"pyarrow{name}") for name in ("", ".parquet", ".compute", ".json")
        ]
    finally:
        if freeze:
            gc.unfreeze()
    return modules[0], modules[1]


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
