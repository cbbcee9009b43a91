"""What a job may be given, as one local request file: a `flyte.io.File` (a `flyteplugins-jsonl`
`JsonlFile` is one), a local path, or an async iterator of request dicts (written out as it comes)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterable, Mapping
from pathlib import Path
from typing import Any, Union

from flyte.io import File

from openai_batch_jobs.errors import InvalidRequestFile

Requests = Union[File, str, os.PathLike, AsyncIterable[Mapping[str, Any]]]  # noqa: UP007


async def local_requests(requests: Requests, directory: Path) -> str:
    """The requests as a JSONL file under ``directory`` (a local path is used where it is)."""
    if isinstance(requests, File):
        return await requests.download(str(directory / "requests.jsonl"))
    if isinstance(requests, (str, os.PathLike)):
        return os.fspath(requests)
    if isinstance(requests, AsyncIterable):
        path = directory / "requests.jsonl"
        # Local disk writes between awaits of the iterator: short, and the file is written as it comes.
        with open(path, "w", encoding="utf-8") as sink:  # noqa: ASYNC230
            line = 0
            async for request in requests:
                line += 1
                if not isinstance(request, Mapping):
                    raise InvalidRequestFile(
                        str(path), [f"request {line}: is a {type(request).__name__}, not a dict"]
                    )
                sink.write(json.dumps(request, ensure_ascii=False, separators=(",", ":")) + "\n")
        return str(path)
    raise TypeError(
        f"A batch job takes a flyte.io.File, a JsonlFile, a path or an async iterator of dicts, "
        f"not {type(requests).__name__}"
    )
