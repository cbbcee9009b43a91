"""The answers of a job that ended without every request answered: downloaded, not dropped.

A job whose batch expired, was cancelled or failed (without `accept_partial_results`) never reaches
its collect step, yet its parts' output files hold answers already paid for. A local run downloads
them here (`keep_answers`) and says where they are; on a cluster the job's message names the output
files, which stay on the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openai_batch_jobs.errors import TransferError
from openai_batch_jobs.files.download import download_file
from openai_batch_jobs.json_lines import count_lines
from openai_batch_jobs.messages import counted


def keep_answers(client: Any, output_file_ids: Sequence[str | None], directory: Path, api_key: str) -> str:
    """Download each part's output file (None: the part has none) into `directory`; the sentence
    saying how many answers were kept and where (empty when no part has an output file)."""
    directory.mkdir(parents=True, exist_ok=True)
    kept: list[str] = []
    answers = 0
    problems = []
    for index, file_id in enumerate(output_file_ids):
        if not file_id:
            continue
        path = directory / f"part{index + 1}-output.jsonl"
        try:
            download_file(client, file_id, path, api_key=api_key)
        except TransferError as exc:
            problems.append(f"part {index + 1}'s output file {file_id} stays on the server ({exc})")
            continue
        answers += count_lines(str(path))
        kept.append(f"{path} (file {file_id})")
    text = f"Downloaded the {counted(answers, 'answer')} it has: {', '.join(kept)}." if kept else ""
    return " ".join([text, *(f"But {p}." for p in problems)]).strip()
