"""Local runs of BatchJobTask through flytekit's async executor mixin."""

from __future__ import annotations

import io

import openai
import pytest
from flytekit.exceptions.user import FlyteUserException

from flytekitplugins.openai.batch import BatchJobTask
from flytekitplugins.openai.batch.errors import BatchAPIError, BatchFailed
from openai_batch_emulator import Emulator
from openai_batch_jobs.errors import BatchConfigError

from .job_support import upload_parts


@pytest.mark.usefixtures("connector_key")
def test_local_run_runs_the_parts_at_once(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    emulator.configure(requests_per_second=4)
    file_ids = upload_parts(openai_client, parts=3, count=4)
    task = BatchJobTask(name="local-job", config={}, base_url=emulator.base_url)
    result = task(input_file_ids=file_ids)
    assert [b["status"] for b in result.batches] == ["completed"] * 3
    assert [b["input_file_id"] for b in result.batches] == file_ids
    assert result.request_counts == {"total": 12, "completed": 12, "failed": 0}
    batches = {b.id: b for b in openai_client.batches.list().data}
    assert len(batches) == 3
    # Every part was created before the first one finished.
    first_done = min(b.completed_at for b in batches.values() if b.completed_at)
    assert max(b.created_at for b in batches.values()) <= first_done


@pytest.mark.usefixtures("connector_key")
def test_local_run_of_a_job_with_a_bad_part_raises_naming_it(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    file_ids = upload_parts(openai_client, parts=2, bad_part=0)
    task = BatchJobTask(name="local-job", config={}, base_url=emulator.base_url)
    with pytest.raises(FlyteUserException, match=rf"part 1 \({file_ids[0]}\).*url_mismatch"):
        task(input_file_ids=file_ids)


@pytest.mark.usefixtures("connector_key")
def test_a_local_job_whose_batch_cannot_be_created_deletes_its_input_files(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    # The API refuses to create the first part's batch (its file is not a batch input): CreateTask
    # fails, and nothing would ever use the files again.
    refused = openai_client.files.create(file=("notes.jsonl", io.BytesIO(b"{}\n")), purpose="assistants").id
    file_ids = [refused, *upload_parts(openai_client, parts=1)]
    task = BatchJobTask(name="local-job", config={}, base_url=emulator.base_url)
    with pytest.raises(BatchAPIError, match=r"HTTP 400.* Deleted its 2 input files from the server\.$"):
        task(input_file_ids=file_ids)
    assert openai_client.files.list().data == []
    assert openai_client.batches.list().data == []


@pytest.mark.usefixtures("connector_key")
def test_a_local_job_that_fails_raises_one_clear_error_and_deletes_its_input_files(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    file_ids = upload_parts(openai_client, parts=1, bad_part=0)
    task = BatchJobTask(name="local-job", config={}, base_url=emulator.base_url)
    with pytest.raises(BatchFailed) as raised:
        task(input_file_ids=file_ids)
    # One paragraph: the task, why, what became of the files; no flytekit prefixes.
    assert str(raised.value).startswith(f"local-job: Job failed: part 1 ({file_ids[0]}): batch ")
    assert str(raised.value).endswith("Deleted its 1 input file from the server.")
    assert "USER:" not in str(raised.value)
    assert openai_client.files.list().data == []


@pytest.mark.usefixtures("connector_key")
def test_a_local_job_over_max_cost_usd_is_refused_before_any_batch(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    file_ids = upload_parts(openai_client, parts=3, count=3, tagged=True)
    task = BatchJobTask(name="local-job", config={}, base_url=emulator.base_url, max_cost_usd=0.01)
    with pytest.raises(BatchConfigError) as refused:
        task(input_file_ids=file_ids)
    message = str(refused.value)
    print(message)
    assert message.startswith(
        "The job task refused the job before creating any batch: its cost estimate is "
        "$0.000004 to $0.0111 (gpt-4o-mini), and the high figure is above max_cost_usd $0.0100. "
    )
    # A local run's job that cannot run deletes its input files, as `delete_input_files` says.
    assert message.endswith("Deleted its 3 input files from the server.")
    assert openai_client.batches.list().data == []
    assert openai_client.files.list().data == []
