"""The results table built a block of requests at a time in Arrow's columns, in C++, not a row at a time.

`write_blocks` reads the request keys and each round's sorted run of result lines with pyarrow's
JSON reader (only the fields the table shows: the reader skips the rest in C++), finds each block's
lines among the heads of the runs by custom_id (`pyarrow.compute.index_in`), computes the columns
with `pyarrow.compute` and hands each block to the Parquet writer and to the summary. It reads what
the Batch API and `resend.collect_round` write for chat completions, completions, embeddings
as float lists and moderations. Anything else (a Responses API answer, base64 embeddings, a field of
an unexpected type, an unreadable line, duplicate ids, lines out of the requests' order) raises
`Unsupported`, and `results_table.write_results_table` writes the table line by line instead: that
path reads every shape and names every problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from openai_batch_jobs.report._column_files import Keys, Run, Unsupported, constant, result_schema
from openai_batch_jobs.results.result_lines import MISSING_RESULT

if TYPE_CHECKING:
    from openai_batch_jobs.report.summary import SummaryBuilder

# Requests computed at once (fewer when their result lines are large: `BLOCK_LINE_BYTES` of them):
# each block costs some 60 compute calls, whatever its size.
BLOCK_ROWS = 1 << 15
BLOCK_LINE_BYTES = 4 << 20
_NO_DETAILS = "no error details given"


def write_blocks(
    pa: Any,
    inputs: Sequence[str],
    runs: Sequence[tuple[str, int, int | None]],
    writer: Any,
    summary: SummaryBuilder | None,
    *,
    schema: Any,
    row_group_rows: int,
    row_group_bytes: int,
    pool: Any,
) -> int:
    """Write the rows of every request in ``inputs`` through ``writer``; ``runs`` are (path, start,
    end) of each round's lines in the result files. Returns the row count."""
    import pyarrow.compute as pc

    rows = 0
    with ExitStack() as stack:
        heads = [Run(pa, path, start, end, pool) for path, start, end in runs]
        for head in heads:
            stack.callback(head.close)
        keys = Keys(pa, inputs, pool)
        while True:
            line_bytes = max((head.line_bytes for head in heads), default=1)
            group = max(1, min(row_group_rows, row_group_bytes // line_bytes))
            block = keys.take(max(1, min(BLOCK_ROWS, BLOCK_LINE_BYTES // line_bytes) // group) * group)
            if block is None:
                break
            table = _block(pa, pc, block, heads, schema)
            writer.write_table(table, row_group_size=group)
            if summary is not None:
                summary.add_columns(table)
            rows += table.num_rows
        if any(head.left() for head in heads):
            raise Unsupported("a result file has lines for no request, or out of the requests' order")
    return rows


def _block(pa: Any, pc: Any, keys: Any, heads: Sequence[Run], schema: Any) -> Any:
    """The table's rows of one block of requests (a record batch of custom_id and body.model)."""
    ids = keys.column(0)
    if pc.count_distinct(ids).as_py() != len(ids):
        raise Unsupported("a custom_id is repeated")
    lines = pa.concat_tables([head.take(pc, ids) for head in heads] or [result_schema(pa).empty_table()])
    if lines.num_rows == len(ids) and lines.column(0).equals(pa.chunked_array([ids])):
        # Each request answered by one line, in the requests' order (the usual case): no lookup.
        found = lines.combine_chunks()
    else:
        if pc.count_distinct(lines.column(0)).as_py() != lines.num_rows:
            raise Unsupported("a request has more than one result line")
        found = lines.take(pc.index_in(ids, value_set=lines.column(0))).combine_chunks()
    columns = _rows(pa, pc, ids, pc.struct_field(keys.column(1), "model"), found)
    return pa.Table.from_arrays([columns[name] for name in schema.names], schema=schema)


def _rows(pa: Any, pc: Any, ids: Any, models: Any, found: Any) -> dict[str, Any]:
    """The table's columns from each request's result line (a null row where none answers it)."""
    has_line = pc.is_valid(found.column("custom_id"))
    response, top = found.column("response"), found.column("error")
    status = pc.struct_field(response, "status_code")
    body = pc.struct_field(response, "body")
    body_error = pc.struct_field(body, "error")
    top_valid = pc.is_valid(top)
    erred = pc.or_(top_valid, pc.is_valid(body_error))

    def error_field(name: str) -> Any:
        value = pc.if_else(top_valid, pc.struct_field(top, name), pc.struct_field(body_error, name))
        return pc.if_else(pc.equal(pc.utf8_length(value), constant(0)), _null(pa, pa.string()), value)

    ok = pc.fill_null(
        pc.and_(pc.greater_equal(status, constant(200)), pc.less(status, constant(300))), constant(False)
    )
    succeeded = pc.and_(pc.and_(has_line, pc.invert(erred)), ok)
    http = pc.if_else(
        pc.fill_null(pc.not_equal(status, constant(0)), constant(False)),
        pc.binary_join_element_wise(constant("http_"), pc.cast(status, pa.string()), constant("")),
        constant("unknown_error"),
    )
    code = pc.if_else(erred, pc.coalesce(error_field("code"), error_field("type"), http), http)
    message = pc.if_else(
        erred, pc.coalesce(error_field("message"), constant(_NO_DETAILS)), constant(_NO_DETAILS)
    )
    failed = pc.and_(has_line, pc.invert(succeeded))
    missing_line = pc.invert(has_line)
    return {
        "custom_id": ids,
        "status": pc.if_else(
            succeeded,
            constant("succeeded"),
            pc.if_else(
                pc.and_(has_line, pc.not_equal(code, constant(MISSING_RESULT))),
                constant("failed"),
                constant("missing"),
            ),
        ),
        "model": models,
        "http_status": pc.cast(status, pa.int32()),
        "error_code": pc.if_else(
            failed, code, pc.if_else(missing_line, constant(MISSING_RESULT), _null(pa, pa.string()))
        ),
        "error_message": pc.if_else(
            failed,
            message,
            pc.if_else(missing_line, constant("no result file has a line for it"), _null(pa, pa.string())),
        ),
        "attempts": pc.cast(found.column("attempts"), pa.int32()),
        **_answer(pa, pc, body, pc.and_(succeeded, pc.is_valid(body))),
    }


def _answer(pa: Any, pc: Any, body: Any, answered: Any) -> dict[str, Any]:
    """Text or embedding, finish reason, output count and tokens of the answered rows."""

    def some(name: str, after: Any) -> tuple[Any, Any, Any]:
        items = pc.struct_field(body, name).chunk(0)
        count = pc.list_value_length(items)
        chosen = pc.and_(
            pc.and_(answered, after), pc.fill_null(pc.greater(count, constant(0)), constant(False))
        )
        # The first item of each chosen list, taken from the flat items (no copy of the lists).
        starts = pc.if_else(chosen, items.offsets[:-1], _null(pa, pa.int32()))
        return chosen, count, items.values.take(starts)

    has_choices, choices, first = some("choices", constant(True))
    has_data, data, vectors = some("data", pc.invert(has_choices))
    neither = pc.and_(answered, pc.invert(pc.or_(has_choices, has_data)))
    if pc.any(pc.and_(neither, pc.equal(pc.struct_field(body, "object"), constant("response")))).as_py():
        raise Unsupported("a Responses API answer")
    results = pc.if_else(
        neither, pc.list_value_length(pc.struct_field(body, "results")), _null(pa, pa.int32())
    )
    message = pc.struct_field(first, "message")
    usage = pc.struct_field(body, "usage")
    tokens = {
        "prompt_tokens": pc.coalesce(
            pc.struct_field(usage, "prompt_tokens"), pc.struct_field(usage, "input_tokens")
        ),
        "completion_tokens": pc.coalesce(
            pc.struct_field(usage, "completion_tokens"), pc.struct_field(usage, "output_tokens")
        ),
    }
    return {
        "text": pc.if_else(
            pc.is_valid(message), pc.struct_field(message, "content"), pc.struct_field(first, "text")
        ),
        "embedding": pc.struct_field(vectors, "embedding"),
        "outputs": pc.cast(pc.if_else(has_choices, choices, pc.if_else(has_data, data, results)), pa.int32()),
        "finish_reason": pc.struct_field(first, "finish_reason"),
        **{name: pc.if_else(answered, value, _null(pa, pa.int64())) for name, value in tokens.items()},
    }


def _null(pa: Any, kind: Any) -> Any:
    return pa.nulls(1, kind)[0]
