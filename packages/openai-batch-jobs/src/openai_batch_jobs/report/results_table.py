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
answers are large), so memory stays flat for a million rows. The requests' keys and the result lines
are decoded a block at a time by msgspec (`_table_rows` says which fields), and the file is written by
`_parquet`, without pyarrow: its libraries would double the memory of the step that writes the table.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from openai_batch_jobs.errors import BatchResultError
from openai_batch_jobs.inputs.request_keys import keys_of, read_requests
from openai_batch_jobs.json_lines import is_utf8, read_blocks
from openai_batch_jobs.report._parquet import Kind, ParquetWriter
from openai_batch_jobs.report._table_rows import COLUMNS, LINES, Row, TableLine, from_record, missing, row
from openai_batch_jobs.results.result_lines import ResultLine, read_result_line

if TYPE_CHECKING:
    from openai_batch_jobs.report.summary import SummaryBuilder

__all__ = ["COLUMNS", "ROW_GROUP_ROWS", "ResultsTable", "write_results_table"]

ROW_GROUP_ROWS = 4096
# A row group is also closed once the result lines read for it took this many bytes (embeddings are large).
ROW_GROUP_BYTES = 8 << 20
# flytekit's Parquet handlers read a directory of Parquet files; the table is its one file.
TABLE_FILE = "00000"
_KINDS = {
    "embedding": Kind.FLOAT_LIST,
    "outputs": Kind.INT32,
    "http_status": Kind.INT32,
    "attempts": Kind.INT32,
}
_KINDS |= {"prompt_tokens": Kind.INT64, "completion_tokens": Kind.INT64}
SCHEMA = [(name, _KINDS.get(name, Kind.STRING)) for name in COLUMNS]


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
    merged along the requests: one pass, no index, whatever the size of the job. Each row group is
    also given to ``summary`` when one is passed, so the totals of the deck and the JSON summary come
    from the same single pass.
    """
    runs = [
        (path, label, start, end)
        for path, label, bounds in (
            (output_path, "the output file", [s[0] for s in starts]),
            (error_path, "the error file", [s[1] for s in starts]),
        )
        if path
        for start, end in zip(bounds, [*bounds[1:], None], strict=True)
    ]
    Path(directory).mkdir(parents=True, exist_ok=True)
    rows = 0
    with ExitStack() as stack:
        stack.enter_context(_older_objects_left_alone())
        heads = [stack.enter_context(_Run(*run)) for run in runs]
        with open(Path(directory) / TABLE_FILE, "wb") as stream:
            writer = ParquetWriter(stream, SCHEMA, created_by="openai-batch-jobs")
            group: list[Row] = []
            read = 0  # bytes of result lines read by the end of the last row group
            for ids, models in _request_keys(inputs):
                for custom_id, model in zip(ids, models, strict=True):
                    for head in heads:
                        if head.head_id == custom_id:
                            group.append(row(custom_id, model, head.take()))
                            break
                    else:
                        group.append(missing(custom_id, model))
                    if len(group) >= row_group_rows or (
                        not len(group) % 64 and sum(h.read for h in heads) - read >= ROW_GROUP_BYTES
                    ):
                        _write(writer, group, summary)
                        rows, group, read = rows + len(group), [], sum(h.read for h in heads)
            if group or not rows:
                _write(writer, group, summary)
                rows += len(group)
            for head in heads:
                head.check_done()
            writer.close()
    return ResultsTable(directory, rows)


@contextmanager
def _older_objects_left_alone() -> Iterator[None]:
    """The process's objects so far left out of the garbage collector's passes while the table is
    written: its rows are enough new objects to set off a full collection, which in a flytekit process
    walks a heap of a million objects (0.1-0.2 s) that the table never touches. A process that froze
    objects of its own (before a fork) is left as it is."""
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()


def _write(writer: ParquetWriter, group: list[Row], summary: SummaryBuilder | None) -> None:
    columns = list(zip(*group, strict=True)) if group else [()] * len(COLUMNS)
    writer.write_row_group(columns)
    if summary is not None:
        summary.add_columns(columns)


def _request_keys(inputs: Sequence[str]) -> Iterator[tuple[list[str], list[str | None]]]:
    """The requests' custom_ids and models, a block at a time; a block only `read_requests` reads
    (or refuses, naming the line) is read the rest of its file by it."""
    for path in inputs:
        done = 0
        for block in read_blocks(path):
            keys = keys_of(block)
            if keys is None:
                break
            done += len(keys[0])
            yield keys
        else:
            continue
        rest = islice(read_requests(path), done, None)
        while chunk := list(islice(rest, 4096)):
            yield [custom_id for _, custom_id, _ in chunk], [model for *_, model in chunk]


class _Run:
    """One round's lines of a result file, from byte ``start`` to ``end``, decoded a block at a time;
    the head line waits for its request."""

    def __init__(self, path: str, label: str, start: int, end: int | None) -> None:
        self._label = label
        self._blocks = read_blocks(path, start=start, end=end)
        self._lines: list[TableLine | ResultLine] = []
        self._next = 0
        self.head_id: Any = None
        self.read = 0  # bytes of lines read so far

    def take(self) -> TableLine | ResultLine:
        """The head line; the next one becomes the head."""
        taken = self._lines[self._next]
        self._next += 1
        if self._next == len(self._lines):
            self._load()
        else:
            self.head_id = self._lines[self._next].custom_id
        return taken

    def check_done(self) -> None:
        if self._next < len(self._lines):
            raise BatchResultError(
                f"The results table was written, but {self._label} has a line for request {self.head_id!r} "
                "out of the order of the job's requests (or for no request of the job): the file was "
                "changed since the collect step wrote it"
            )

    def _load(self) -> None:
        self._lines, self._next, self.head_id = [], 0, None
        for block in self._blocks:
            self.read += len(block)
            self._lines = _decode(block)
            if self._lines:
                self.head_id = self._lines[0].custom_id
                return

    def __enter__(self) -> _Run:
        try:
            self._load()
        except BaseException:
            self._blocks.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self._blocks.close()


def _decode(block: bytes) -> list[TableLine | ResultLine]:
    """A block's lines decoded at once; one at a time when any is one msgspec does not read as an
    object with a custom_id (the standard library's JSON reads it, or it is unreadable)."""
    try:
        lines: list[TableLine | ResultLine] = list(LINES.decode_lines(block))
        if is_utf8(block):
            return lines
    except (msgspec.DecodeError, UnicodeDecodeError):
        pass
    return [_line(raw) for raw in block.splitlines() if raw and not raw.isspace()]


def _line(raw: bytes) -> TableLine | ResultLine:
    try:
        line = LINES.decode(raw)
        if is_utf8(raw):
            return line
    except (msgspec.DecodeError, UnicodeDecodeError):
        pass
    read = read_result_line(raw)
    return read if read.record is None else from_record(dict(read.record))
