"""One round's parts on local disk: each part's request file and result files, parts side by side.

`request_retry.collect_round` reads a round from these (`RoundPart`); the files are the caller's to
delete once the round is collected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from openai_batch_jobs.errors import BatchResultError, TransferError
from openai_batch_jobs.results.request_retry import RoundPart
from openai_batch_jobs.runner.transfer import download_file

# Parts downloaded at once (each part's files one after another).
DOWNLOAD_WORKERS = 3


def download_round(
    client: Any,
    batches: Sequence[Mapping[str, Any]],
    directory: Path,
    *,
    api_key: str | None = None,
    workers: int = DOWNLOAD_WORKERS,
) -> list[RoundPart]:
    """Each batch's input, output and error file (those it has) into ``directory``, in part order."""
    wanted: list[list[tuple[str, str, Path]]] = []
    parts: list[RoundPart] = []
    for index, batch in enumerate(batches, start=1):
        input_id = batch.get("input_file_id")
        if not input_id:
            raise BatchResultError(f"Part {index} of the job (batch {batch.get('id')}) names no input file")
        paths: dict[str, str] = {}
        files = []
        for kind in ("input", "output", "error"):
            file_id = input_id if kind == "input" else batch.get(f"{kind}_file_id")
            if file_id:
                path = directory / f"part{index}-{kind}.jsonl"
                files.append(
                    (f"the {kind} file of part {index} (batch {batch.get('id')})", str(file_id), path)
                )
                paths[kind] = str(path)
        wanted.append(files)
        parts.append(RoundPart(paths["input"], batch, paths.get("output"), paths.get("error")))

    def fetch(files: list[tuple[str, str, Path]]) -> None:
        for what, file_id, path in files:
            try:
                download_file(client, file_id, path, api_key=api_key)
            except TransferError as e:
                raise TransferError(f"Could not download {what}: {e}") from None

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(wanted)))) as pool:
        for future in [pool.submit(fetch, files) for files in wanted]:
            future.result()
    return parts
