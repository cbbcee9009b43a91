"""A streaming Parquet writer for the results table, in the standard library alone.

Why not pyarrow: importing it and writing a first table maps some 90 MB of its libraries into the
process that writes the table, as much again as the whole job step needs without it, and 0.3 s of
import for a file of a few flat columns. The table needs little of the format: flat optional
columns of UTF-8 strings, 32- and 64-bit integers, and one list of 32-bit floats (an embedding); one
PLAIN-encoded, uncompressed data page (version 1) per column and row group, no statistics, no
dictionary. Every Parquet reader reads that (pyarrow, pandas, polars, DuckDB, Spark).

The format: https://parquet.apache.org/docs/file-format/ ; the file's metadata is Thrift's compact
protocol (``_Thrift``). Each row group is written when it is given (`ParquetWriter.write_row_group`),
so memory holds one row group, whatever the table's size.
"""

from __future__ import annotations

import array
import enum
import struct
from collections.abc import Sequence
from itertools import chain, compress, repeat
from operator import is_not
from typing import Any, BinaryIO

_MAGIC = b"PAR1"
_LENGTH = struct.Struct("<I").pack
_LEVELS_TO_DIGITS = bytes.maketrans(b"\x00\x01", b"01")

# Thrift compact protocol field types.
_I32, _I64, _BINARY, _LIST, _STRUCT = 5, 6, 8, 9, 12
# Parquet's enums (parquet.thrift).
_INT32, _INT64, _FLOAT, _BYTE_ARRAY = 1, 2, 4, 6  # Type
_REQUIRED, _OPTIONAL, _REPEATED = 0, 1, 2  # FieldRepetitionType
_UTF8, _LIST_CONVERTED = 0, 3  # ConvertedType
_PLAIN, _RLE = 0, 3  # Encoding
_UNCOMPRESSED = 0  # CompressionCodec
_DATA_PAGE = 0  # PageType


class Kind(enum.Enum):
    """A column's type, as Arrow reads it back: string, int32, int64, list<float>."""

    STRING = "string"
    INT32 = "int32"
    INT64 = "int64"
    FLOAT_LIST = "list<float>"


class ParquetWriter:
    """Write a table a row group at a time: ``columns`` are (name, `Kind`) pairs, every column nullable."""

    def __init__(self, stream: BinaryIO, columns: Sequence[tuple[str, Kind]], created_by: str) -> None:
        self._stream = stream
        self._columns = list(columns)
        self._created_by = created_by
        self._row_groups: list[bytes] = []
        self._rows = 0
        self._offset = stream.write(_MAGIC)

    def write_row_group(self, values: Sequence[Sequence[Any]]) -> None:
        """One row group: ``values`` holds each column's values (None for null), in the columns' order."""
        rows = len(values[0]) if values else 0
        chunks = []
        start = self._offset
        for (name, kind), column in zip(self._columns, values, strict=True):
            if len(column) != rows:
                raise ValueError(f"column {name!r} has {len(column)} values for {rows} rows")
            page_offset = self._offset
            header, body, count = _page(kind, column)
            self._offset += self._stream.write(header) + self._stream.write(body)
            chunks.append(_column_chunk(name, kind, count, page_offset, self._offset - page_offset))
        size = self._offset - start
        self._row_groups.append(
            _Thrift.struct(
                (1, _LIST, (_STRUCT, chunks)),
                (2, _I64, size),
                (3, _I64, rows),
                (5, _I64, start),
                (6, _I64, size),
            )
        )
        self._rows += rows

    def close(self) -> None:
        """Write the footer: the schema and where each row group's columns are."""
        footer = _Thrift.struct(
            (1, _I32, 1),
            (2, _LIST, (_STRUCT, _schema(self._columns))),
            (3, _I64, self._rows),
            (4, _LIST, (_STRUCT, self._row_groups)),
            (6, _BINARY, self._created_by.encode()),
        )
        self._stream.write(footer + _LENGTH(len(footer)) + _MAGIC)


def _schema(columns: Sequence[tuple[str, Kind]]) -> list[bytes]:
    """The schema's elements, depth first: the root, then each column (a list column is three)."""
    string = _Thrift.struct((1, _STRUCT, _Thrift.struct()))  # LogicalType STRING
    elements = [_Thrift.struct((4, _BINARY, b"schema"), (5, _I32, len(columns)))]
    for name, kind in columns:
        if kind is Kind.FLOAT_LIST:
            elements += [
                _Thrift.struct(
                    (3, _I32, _OPTIONAL),
                    (4, _BINARY, name.encode()),
                    (5, _I32, 1),
                    (6, _I32, _LIST_CONVERTED),
                    (10, _STRUCT, _Thrift.struct((3, _STRUCT, _Thrift.struct()))),  # LogicalType LIST
                ),
                _Thrift.struct((3, _I32, _REPEATED), (4, _BINARY, b"list"), (5, _I32, 1)),
                _Thrift.struct((1, _I32, _FLOAT), (3, _I32, _OPTIONAL), (4, _BINARY, b"element")),
            ]
        elif kind is Kind.STRING:
            elements.append(
                _Thrift.struct(
                    (1, _I32, _BYTE_ARRAY),
                    (3, _I32, _OPTIONAL),
                    (4, _BINARY, name.encode()),
                    (6, _I32, _UTF8),
                    (10, _STRUCT, string),
                )
            )
        else:
            physical = _INT32 if kind is Kind.INT32 else _INT64
            elements.append(
                _Thrift.struct((1, _I32, physical), (3, _I32, _OPTIONAL), (4, _BINARY, name.encode()))
            )
    return elements


def _column_chunk(name: str, kind: Kind, count: int, offset: int, size: int) -> bytes:
    path = [name.encode(), b"list", b"element"] if kind is Kind.FLOAT_LIST else [name.encode()]
    physical = {Kind.STRING: _BYTE_ARRAY, Kind.INT32: _INT32, Kind.INT64: _INT64, Kind.FLOAT_LIST: _FLOAT}
    metadata = _Thrift.struct(
        (1, _I32, physical[kind]),
        (2, _LIST, (_I32, [_PLAIN, _RLE])),
        (3, _LIST, (_BINARY, path)),
        (4, _I32, _UNCOMPRESSED),
        (5, _I64, count),
        (6, _I64, size),
        (7, _I64, size),
        (9, _I64, offset),
    )
    return _Thrift.struct((2, _I64, offset), (3, _STRUCT, metadata))


def _page(kind: Kind, column: Sequence[Any]) -> tuple[bytes, bytes, int]:
    """One data page holding the whole column chunk: its header, its body (written apart: a text
    column's body is the table's bulk, not copied again) and its count of values (levels)."""
    if kind is Kind.FLOAT_LIST:
        body, count = _float_lists(column)
    else:
        present = bytes(map(is_not, column, repeat(None)))
        body = _levels(present) + _plain(kind, compress(column, present))
        count = len(column)
    header = _Thrift.struct(
        (1, _I32, _DATA_PAGE),
        (2, _I32, len(body)),
        (3, _I32, len(body)),
        (5, _STRUCT, _Thrift.struct((1, _I32, count), (2, _I32, _PLAIN), (3, _I32, _RLE), (4, _I32, _RLE))),
    )
    return header, body, count


def _levels(present: bytes) -> bytes:
    """Definition levels of a flat optional column (1: a value, 0: null), RLE/bit-packed hybrid, with
    their length: one run when the column has no null (or only nulls), else bit-packed, 8 a byte."""
    count = len(present)
    if not present or present.count(1) in (0, count):
        runs = _varint(count << 1) + (b"\x01" if present[:1] == b"\x01" else b"\x00")
    else:
        groups = (count + 7) // 8
        # The levels as a binary number, the first level its lowest bit, written little-endian:
        # the bit-packed run's own layout, built in C whatever the column's length.
        bits = int(present.translate(_LEVELS_TO_DIGITS)[::-1], 2).to_bytes(groups, "little")
        runs = _varint(groups << 1 | 1) + bits
    return _LENGTH(len(runs)) + runs


def _plain(kind: Kind, values: Any) -> bytes:
    if kind is Kind.STRING:
        encoded = list(map(str.encode, values))
        return b"".join(chain.from_iterable(zip(map(_LENGTH, map(len, encoded)), encoded, strict=True)))
    return array.array("i" if kind is Kind.INT32 else "q", values).tobytes()


def _float_lists(column: Sequence[Sequence[float] | None]) -> tuple[bytes, int]:
    """A list<float> column: repetition levels (0 starts a row, 1 goes on with it) and definition
    levels (0: null list, 1: empty list, 3: a value) as RLE runs (one for each stretch of null rows,
    a few for each vector), then the values."""
    repetitions, definitions, values = bytearray(), bytearray(), array.array("f")
    count = nulls = 0
    for vector in column:
        if vector is None:
            nulls += 1
            continue
        if nulls:
            repetitions += _run(nulls, 0)
            definitions += _run(nulls, 0)
            count, nulls = count + nulls, 0
        repetitions += _run(1, 0)
        if not vector:
            definitions += _run(1, 1)
            count += 1
            continue
        if len(vector) > 1:
            repetitions += _run(len(vector) - 1, 1)
        definitions += _run(len(vector), 3)
        values.extend(vector)
        count += len(vector)
    if nulls:
        repetitions += _run(nulls, 0)
        definitions += _run(nulls, 0)
        count += nulls
    body = _LENGTH(len(repetitions)) + repetitions + _LENGTH(len(definitions)) + definitions
    return bytes(body) + values.tobytes(), count


def _run(count: int, level: int) -> bytes:
    return _varint(count << 1) + bytes((level,))


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class _Thrift:
    """Thrift's compact protocol, for the few shapes Parquet's metadata takes."""

    @staticmethod
    def struct(*fields: tuple[int, int, Any]) -> bytes:
        """A struct of (field id, type, value) in increasing id order; its values already encoded
        when they are structs."""
        out = bytearray()
        last = 0
        for field_id, kind, value in fields:
            delta = field_id - last
            out += bytes((delta << 4 | kind,)) if 0 < delta <= 15 else bytes((kind,)) + _varint(field_id << 1)
            out += _Thrift.value(kind, value)
            last = field_id
        out.append(0)
        return bytes(out)

    @staticmethod
    def value(kind: int, value: Any) -> bytes:
        if kind in (_I32, _I64):
            return _varint(value << 1 if value >= 0 else (-value << 1) - 1)  # zigzag
        if kind == _BINARY:
            return _varint(len(value)) + value
        if kind == _STRUCT:
            return bytes(value)
        element, items = value  # _LIST
        size = (
            bytes((len(items) << 4 | element,))
            if len(items) < 15
            else bytes((0xF0 | element,)) + _varint(len(items))
        )
        return size + b"".join(_Thrift.value(element, item) for item in items)
