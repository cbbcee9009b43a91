"""The value the download task returns: the batch's output and error files, when the batch produced them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from flytekit.types.file import JSONLFile
from mashumaro.mixins.json import DataClassJSONMixin


@dataclass
class BatchResult(DataClassJSONMixin):
    """Output and error JSONL files of a batch; a file the batch did not produce stays None."""

    # typing.Optional, not `X | None`: the same annotation upstream uses, so flytekit's type engine
    # gives this dataclass the same literal type on every Python and flytekit version.
    output_file: Optional[JSONLFile] = None  # noqa: UP045
    error_file: Optional[JSONLFile] = None  # noqa: UP045
