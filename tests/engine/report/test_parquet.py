"""The results table's Parquet writer, read back by pyarrow (Arrow's own C++ reader, which pandas
and the other Arrow-based readers use): every kind of column, every pattern of nulls, row groups of
any size."""

from __future__ import annotations

import array
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openai_batch_jobs.report._parquet import Kind, ParquetWriter

COLUMNS = [
    ("text", Kind.STRING),
    ("small", Kind.INT32),
    ("big", Kind.INT64),
    ("vector", Kind.FLOAT_LIST),
    ("empty", Kind.STRING),
    ("full", Kind.STRING),
]


def group(rows: int, seed: int) -> list[list[Any]]:
    """One row group's columns: nulls at every third, fifth or fourth row, and columns of no null or only nulls."""
    return [
        [None if i % 3 == 0 else f"ünï-{seed}-{i}" * (i % 4) for i in range(rows)],
        [None if i % 5 == 0 else i - 2**31 if i % 2 else 2**31 - 1 - i for i in range(rows)],
        [None if i % 7 == 3 else (-1) ** i * i * 10**15 for i in range(rows)],
        [
            None if i % 4 == 0 else [] if i % 4 == 1 else array.array("f", [i, 0.5, -2.25] * (i % 3 + 1))
            for i in range(rows)
        ],
        [None] * rows,
        ["x" * (i % 300) for i in range(rows)],
    ]


@pytest.mark.parametrize("sizes", [[0], [1], [5, 1000, 0, 9], [4096, 4096, 17]])
def test_every_value_reads_back(tmp_path: Path, sizes: list[int]) -> None:
    groups = [group(rows, seed) for seed, rows in enumerate(sizes)]
    path = tmp_path / "t.parquet"
    with open(path, "wb") as stream:
        writer = ParquetWriter(stream, COLUMNS, created_by="test")
        for columns in groups:
            writer.write_row_group(columns)
        writer.close()
    table = pq.read_table(path)
    assert table.schema.types == [pa.string(), pa.int32(), pa.int64(), pa.list_(pa.field("element", pa.float32())),
                                  pa.string(), pa.string()]  # fmt: skip
    assert table.column_names == [name for name, _ in COLUMNS]
    metadata = pq.ParquetFile(path).metadata
    assert (metadata.num_row_groups, metadata.num_rows) == (len(sizes), sum(sizes))
    for index, (name, kind) in enumerate(COLUMNS):
        written = [value for columns in groups for value in columns[index]]
        if kind is Kind.FLOAT_LIST:
            written = [None if v is None else list(v) for v in written]
        assert table.column(name).to_pylist() == written, name


def test_a_column_of_the_wrong_length_is_refused() -> None:
    writer = ParquetWriter(io.BytesIO(), [("a", Kind.STRING), ("b", Kind.INT32)], created_by="test")
    with pytest.raises(ValueError, match="column 'b' has 1 values for 2 rows"):
        writer.write_row_group([["x", "y"], [1]])
