"""A job's parts joined into one output file over real emulator batches: the first part's file becomes
the job's, the others are appended, and each part is accounted for from its own lines."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import openai
import pytest

from openai_batch_emulator import Emulator
from openai_batch_jobs.files.download import download_file
from openai_batch_jobs.results.batch_results import account_for_requests
from openai_batch_jobs.results.job_collection import OUTPUT_NAME, ServerCleanup, collect_job
from tests.support.rounds import (
    chat,
    emulator_settings,  # noqa: F401 (the fixture)
    read_jsonl,
    run_parts,
    write_jsonl,
)


@pytest.mark.slow
def test_a_request_missing_from_the_first_part_is_named_from_its_lines(
    emulator: Emulator, openai_client: openai.OpenAI, tmp_path: Path
) -> None:
    inputs = [
        write_jsonl(tmp_path / f"part{n}.jsonl", (chat(c) for c in ids)) for n, ids in enumerate(["ab", "cd"])
    ]
    _, batches = run_parts(openai_client, inputs, tmp_path)
    # The first part claims a bigger input than it answered: "z" is in neither of its files.
    claimed = write_jsonl(tmp_path / "claimed.jsonl", (chat(c) for c in "abz"))
    with open(claimed, "rb") as stream:
        batches[0]["input_file_id"] = openai_client.files.create(file=stream, purpose="batch").id
    batches[0]["request_counts"]["total"] = 3
    directory = tmp_path / "job"
    directory.mkdir()

    job = collect_job(
        openai_client,
        batches,
        directory,
        download=partial(download_file, openai_client),
        account=partial(account_for_requests, openai_client, directory=directory),
        cleanup=ServerCleanup(delete_input_files=False),
    )

    assert [(p.requests, p.succeeded, p.missing, p.missing_named) for p in job.parts] == [
        (3, 2, 1, ["z"]),
        (2, 2, 0, []),
    ]
    assert job.output_path == directory / OUTPUT_NAME
    assert [line["custom_id"] for line in read_jsonl(job.output_path)] == list("abcd")
    assert [p.name for p in directory.iterdir()] == [OUTPUT_NAME]  # the parts' files are gone
