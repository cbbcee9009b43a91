"""A job with no input files (a later round with nothing left to send again) finishes at once."""

from __future__ import annotations

import openai
import pytest

from flytekitplugins.openai.batch import BatchJobTask
from openai_batch_emulator import Emulator


@pytest.mark.usefixtures("connector_key")
def test_an_empty_job_succeeds_without_calling_the_api(
    emulator: Emulator, openai_client: openai.OpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    # Nothing listens on port 9 (discard): any call the job made would fail, not succeed.
    task = BatchJobTask(name="empty-job", config={}, base_url="http://127.0.0.1:9/v1")
    result = task(input_file_ids=[])
    assert result.batches == []
    assert result.parts == 0
    assert result.request_counts == {"total": 0, "completed": 0, "failed": 0}
    assert openai_client.batches.list().data == []
    # The local run asks at once (no first wait: `done_at_create`) and says what happened.
    assert "empty-job: nothing to send again, no requests, " in capfd.readouterr().err
