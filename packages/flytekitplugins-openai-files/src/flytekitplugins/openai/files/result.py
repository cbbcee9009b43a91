"""The value the download and collect tasks return: the output and error files, and the results table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from flytekit.types.file import JSONLFile
from flytekit.types.structured import StructuredDataset
from mashumaro.mixins.json import DataClassJSONMixin


@dataclass
class BatchResult(DataClassJSONMixin):
    """Output and error JSONL files of a batch (or job); a file it did not produce stays None.

    ``table`` is the results table (Parquet, one row per request in input order; see
    `results_table`), set by a job's collect step; the single-batch download task leaves it None.
    """

    # typing.Optional, not `X | None`: the same annotation upstream uses, so flytekit's type engine
    # gives this dataclass the same literal type on every Python and flytekit version.
    output_file: Optional[JSONLFile] = None  # noqa: UP045
    error_file: Optional[JSONLFile] = None  # noqa: UP045
    table: Optional[StructuredDataset] = None  # noqa: UP045

    def __repr__(self) -> str:
        # `pyflyte run` prints a local run's output with str(). A table read back from its literal keeps
        # its location in `table.literal.uri` and leaves `table.uri` None, so the dataclass's own repr
        # would print `uri=None` for a table that is on disk.
        return (
            f"BatchResult(output_file={self.output_file!r}, error_file={self.error_file!r}, "
            f"table={_table_repr(self.table)})"
        )


def _table_repr(table: StructuredDataset | None) -> str:
    if table is None:
        return "None"
    literal = table.literal
    uri = table.uri or (literal.uri if literal is not None else None)
    return f"StructuredDataset(uri={uri!r}, file_format={table.file_format!r})"
