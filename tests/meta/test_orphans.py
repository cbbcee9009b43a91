"""`python -m flytekitplugins.openai orphans` against the emulator, after a `pyflyte run` killed with
SIGKILL mid-job: it lists the run's batches and files, `--delete` cancels and deletes them, and what
another tool made with the SDK survives."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from openai_batch_emulator import Emulator

from .reattach_runs import PARTS, environment, kill_after_batches, orphans, our_files, start, write_requests

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
def emulator_settings() -> dict[str, float]:
    return {"requests_per_second": 0}  # batches stay in progress until cancelled


def test_orphans_of_a_killed_run_are_listed_then_removed(emulator: Emulator, tmp_path: Path) -> None:
    client = emulator.client()
    env = environment(emulator, tmp_path / "state")
    run = start(env, "parts", write_requests(tmp_path / "requests.jsonl"), tmp_path / "run")
    kill_after_batches(run, client, tmp_path / "run", PARTS)
    theirs = client.files.create(file=("theirs.jsonl", io.BytesIO(b"{}\n")), purpose="batch")
    their_input = client.files.create(
        file=("input.jsonl", (tmp_path / "requests.jsonl").open("rb")), purpose="batch"
    )
    their_batch = client.batches.create(
        input_file_id=their_input.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    ours = [b for b in client.batches.list(limit=100) if b.id != their_batch.id]
    files = {f.id for f in our_files(client)}
    assert len(ours) == PARTS
    assert len(files) == PARTS

    young = orphans(env, "--older-than", "1h")  # the default guard: a young job is no orphan
    assert young.returncode == 0, young.stderr
    assert "Found 0 running batches, 0 files." in young.stdout

    before = orphans(env, "--older-than", "0", "--base-url", emulator.base_url)
    print("\n$ python -m flytekitplugins.openai orphans --older-than 0\n" + before.stdout)
    assert before.returncode == 0, before.stderr
    assert all(b.id in before.stdout for b in ours)
    assert all(f in before.stdout for f in files)
    assert their_batch.id not in before.stdout
    assert theirs.id not in before.stdout

    deleted = orphans(env, "--older-than", "0", "--delete", "--base-url", emulator.base_url)
    print("$ python -m flytekitplugins.openai orphans --older-than 0 --delete\n" + deleted.stdout)
    assert deleted.returncode == 0, deleted.stderr
    assert f"Cancelled {PARTS} batches." in deleted.stdout

    after = orphans(env, "--older-than", "0", "--base-url", emulator.base_url)
    print("$ python -m flytekitplugins.openai orphans --older-than 0\n" + after.stdout)
    assert "Found 0 running batches, 0 files." in after.stdout
    statuses = {b.id: b.status for b in client.batches.list(limit=100)}
    assert all(statuses[b.id] in ("cancelling", "cancelled") for b in ours)
    assert our_files(client) == []
    # What another tool made is untouched: its file, its input and its batch, still in progress.
    assert {f.id for f in client.files.list()} >= {theirs.id, their_input.id}
    assert statuses[their_batch.id] == "in_progress"
    print(f"after --delete: {statuses}")


def test_orphans_names_the_key_it_needs(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "OPENAI_BATCH_JOBS_STATE_DIR": str(tmp_path)}
    run = orphans(env)
    assert run.returncode == 2
    assert "OPENAI_API_KEY or FLYTE_OPENAI_API_KEY" in run.stderr
