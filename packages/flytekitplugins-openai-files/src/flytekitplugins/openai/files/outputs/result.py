"""What the download and collect tasks return (the output and error files, the results table), and what a
job's rounds hand on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional  # noqa: UP035

from flytekit.types.file import JSONLFile
from flytekit.types.structured import StructuredDataset
from mashumaro.mixins.json import DataClassJSONMixin

from openai_batch_jobs.results.job_result import RoundRecord
from openai_batch_jobs.results.rounds import RoundFiles


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


@dataclass
class RoundState:
    """What a round of a job's collect step hands to the next (see `rounds`).

    The job's output and error files so far, the requests' keys (each one's custom_id and model, in
    input order: the results table's rows; only with a table) and each finished round's record.
    """

    output: Optional[JSONLFile] = None  # noqa: UP045
    errors: Optional[JSONLFile] = None  # noqa: UP045
    requests: Optional[JSONLFile] = None  # noqa: UP045
    rounds: List[RoundRecord] = field(default_factory=list)  # noqa: UP006

    def files(self) -> RoundFiles:
        """The state as local files (downloaded where they are remote)."""
        return RoundFiles(
            output=self.output.download() if self.output else None,
            errors=self.errors.download() if self.errors else None,
            keys=self.requests.download() if self.requests else None,
            rounds=list(self.rounds),
        )

    @classmethod
    def carrying(cls, files: RoundFiles) -> RoundState:
        return cls(
            output=JSONLFile(files.output) if files.output else None,
            errors=JSONLFile(files.errors) if files.errors else None,
            requests=JSONLFile(files.keys) if files.keys else None,
            rounds=list(files.rounds),
        )
