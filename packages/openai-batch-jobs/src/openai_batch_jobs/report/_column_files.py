"""Reading the results table's inputs in blocks with pyarrow's JSON reader, for `_columns`.

`Keys` gives the requests' custom_ids and models in blocks of any size; `Run` one round's sorted lines
of a result file, taken at its head as the requests come. Only the fields the table shows are built
(`result_schema`); the reader skips the rest in C++. `constant` makes the Arrow scalars the compute
calls compare with, and `Unsupported` is what a reader raises on a file only the line-by-line path
reads.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Generator, Iterator, Sequence
from typing import Any

# JSON read at a time from each file (a longer line is read whole).
BLOCK_BYTES = 1 << 20


class Unsupported(Exception):
    """The files hold something only the line-by-line path reads."""


class Keys:
    """The requests' custom_ids and models, from every request file in turn, in blocks of any size."""

    def __init__(self, pa: Any, inputs: Sequence[str], pool: Any) -> None:
        self._pa = pa
        self._batches = _request_batches(pa, inputs, pool)
        self._pending: list[Any] = []
        self._rows = 0

    def take(self, rows: int) -> Any:
        """The next ``rows`` requests (fewer at the end) as one record batch; None after the last."""
        while self._rows < rows:
            batch = next(self._batches, None)
            if batch is None:
                break
            self._pending.append(batch)
            self._rows += batch.num_rows
        if not self._rows:
            return None
        table = self._pa.Table.from_batches(self._pending)
        taken, rest = table.slice(0, rows), table.slice(rows)
        self._pending, self._rows = rest.to_batches(), rest.num_rows
        return taken.combine_chunks().to_batches()[0]


def _request_batches(pa: Any, inputs: Sequence[str], pool: Any) -> Iterator[Any]:
    schema = pa.schema([("custom_id", pa.string()), ("body", pa.struct([("model", pa.string())]))])
    for path in inputs:
        for batch, _ in _json_blocks(pa, path, 0, None, schema, pool):
            if batch.column(0).null_count:
                raise Unsupported("a request has no custom_id")
            yield batch


def _json_blocks(
    pa: Any, path: str, start: int, end: int | None, schema: Any, pool: Any
) -> Generator[tuple[Any, int], None, None]:
    """(record batch, bytes) of each block of whole lines from byte ``start`` to ``end`` (None: the end).

    Blocks are read here and parsed at once: pyarrow's streaming reader reads ahead in threads of its
    own, holding several blocks.
    """
    import pyarrow.json as pj

    parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    left = end - start if end is not None else None
    carry = b""
    with open(path, "rb", buffering=0) as stream:
        stream.seek(start)
        while True:
            chunk = stream.read(BLOCK_BYTES if left is None else min(BLOCK_BYTES, left))
            if left is not None:
                left -= len(chunk)
            cut = chunk.rfind(b"\n") + 1 if chunk else 0
            if chunk and not cut:  # a line longer than a block: read on
                carry += chunk
                continue
            lines, carry = carry + chunk[:cut] if chunk else carry, chunk[cut:]
            if lines and not lines.isspace():
                read = pj.ReadOptions(use_threads=False, block_size=max(BLOCK_BYTES, len(lines)))
                table = pj.read_json(
                    pa.BufferReader(lines), read_options=read, parse_options=parse, memory_pool=pool
                )
                yield table.combine_chunks().to_batches()[0], len(lines)
            if not chunk:
                return


def result_schema(pa: Any) -> Any:
    error = pa.struct([("code", pa.string()), ("type", pa.string()), ("message", pa.string())])
    choice = pa.struct(
        [
            ("message", pa.struct([("content", pa.string())])),
            ("text", pa.string()),
            ("finish_reason", pa.string()),
        ]
    )
    usage = pa.struct(
        [
            (name, pa.int64())
            for name in ("prompt_tokens", "completion_tokens", "input_tokens", "output_tokens")
        ]
    )
    body = pa.struct(
        [
            ("error", error),
            ("choices", pa.list_(choice)),
            ("data", pa.list_(pa.struct([("embedding", pa.list_(pa.float32()))]))),
            ("object", pa.string()),
            ("results", pa.list_(pa.struct([("flagged", pa.bool_())]))),
            ("usage", usage),
        ]
    )
    return pa.schema(
        [
            ("custom_id", pa.string()),
            ("response", pa.struct([("status_code", pa.int64()), ("body", body)])),
            ("error", error),
            ("attempts", pa.int64()),
        ]
    )


class Run:
    """One round's lines of a result file, read in blocks; the lines not taken yet wait at the head."""

    def __init__(self, pa: Any, path: str, start: int, end: int | None, pool: Any) -> None:
        self._pa = pa
        self._schema = result_schema(pa)
        self._blocks = _json_blocks(pa, path, start, end, self._schema, pool)
        self._head: Any = None
        self._lines = self._bytes = 0
        self._next()  # the size of its lines is known from the start

    @property
    def line_bytes(self) -> int:
        """The mean size of the lines read so far (a block's rows are sized by it)."""
        return max(1, self._bytes // max(self._lines, 1))

    def take(self, pc: Any, ids: Any) -> Any:
        """The lines at the head whose custom_id is in ``ids`` (they answer this block's requests)."""
        taken = []
        while self._head is not None:
            inside = pc.is_null(pc.index_in(self._head.column(0), value_set=ids))
            first_out = pc.index(inside, constant(True)).as_py()
            if first_out >= 0:
                taken.append(self._head.slice(0, first_out))
                self._head = self._head.slice(first_out)
                break
            taken.append(self._head)
            self._next()
        table = self._pa.Table.from_batches(taken, schema=self._schema)
        positions = pc.index_in(table.column(0), value_set=ids)
        if len(positions) > 1 and not pc.all(pc.less(positions[:-1], positions[1:])).as_py():
            raise Unsupported("a result file's lines are out of the requests' order")
        return table

    def left(self) -> bool:
        """Whether lines are left that no request took."""
        return self._head is not None

    def close(self) -> None:
        self._blocks.close()

    def _next(self) -> None:
        found = next(self._blocks, None)
        self._head = found[0] if found else None
        self._lines += found[0].num_rows if found else 0
        self._bytes += found[1] if found else 0


@functools.cache
def constant(value: str | int | bool) -> Any:
    """An Arrow scalar of ``value`` built from its bytes: pyarrow converts a Python value (a scalar
    given to a compute function included) only after importing pandas when it is installed (0.4 s)."""
    import pyarrow as pa

    if isinstance(value, bool):
        return pa.Array.from_buffers(pa.bool_(), 1, [None, pa.py_buffer(bytes([value]))])[0]
    if isinstance(value, int):
        return pa.Array.from_buffers(pa.int64(), 1, [None, pa.py_buffer(struct.pack("<q", value))])[0]
    data = value.encode()
    offsets = pa.py_buffer(struct.pack("<ii", 0, len(data)))
    return pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(data)])[0]
