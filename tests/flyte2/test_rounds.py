"""A local Flyte 2 run of `OpenAIBatch` sorts round 1 from the request keys its validation pass wrote:
no part's input file comes back from the server but a part's whose requests are sent again."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest

from openai_batch_emulator import Emulator

from .script import run_script


@pytest.mark.slow
def test_round_1_downloads_no_input_but_to_send_a_request_again(
    tmp_path: Path, user_env: dict[str, str], emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    # Three parts of 10 requests; q015 (part 2) fails with a 500 on its first attempt only.
    emulator.configure(fail_requests=[{"custom_ids": "^q015$", "status": 500, "attempts": 1}])
    done = run_script(tmp_path, user_env, "max_in_flight=3, part_limits=PartLimits(requests=10)", 30)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULTS "))[8:])
    assert [line["custom_id"] for line in found["answered"]] == [
        f"q{n:03d}" for n in range(30) if n != 15
    ] + ["q015"]
    assert {line["custom_id"]: line["attempts"] for line in found["answered"]}["q015"] == 2
    assert found["errors"] == []

    batches = list(reversed(openai_client.batches.list(limit=100).data))
    assert [b.request_counts.total for b in batches] == [10, 10, 10, 1]
    downloads = emulator.downloads()
    # Part 2's input comes back once (q015 is sent again from it), round 2's part once (it has no keys
    # file); parts 1 and 3 never. Every output file is read once.
    assert [downloads.get(b.input_file_id, 0) for b in batches] == [0, 1, 0, 1]
    assert [downloads.get(b.output_file_id, 0) for b in batches] == [1, 1, 1, 1]
