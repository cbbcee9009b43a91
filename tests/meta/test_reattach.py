"""A local run killed mid-job (SIGKILL) and started again re-attaches to its parts and batches; a
changed setting or input starts afresh."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from openai_batch_emulator import Emulator

from .reattach_runs import PARTS, environment, finish, kill_after_batches, our_files, start, write_requests

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def counts(client: openai.OpenAI) -> tuple[int, int]:
    return len(client.batches.list(limit=100).data), len(our_files(client))


def killed_run(emulator: Emulator, tmp_path: Path) -> tuple[openai.OpenAI, dict[str, str], Path]:
    """`parts` killed with SIGKILL once its three batches run; the client, the runs' environment and
    the requests. The batches answer a request every 20 s (a batch's speed is fixed when it is
    created), so they are in progress when the run is killed and finish while no run watches them;
    later batches are fast again."""
    env = environment(emulator, tmp_path / "state")
    requests = write_requests(tmp_path / "requests.jsonl")
    emulator.configure(requests_per_second=0.05)
    workdir = tmp_path / "killed"
    kill_after_batches(start(env, "parts", requests, workdir), emulator.client(), workdir, PARTS)
    emulator.configure(requests_per_second=1000)
    return emulator.client(), env, requests


def test_a_killed_run_started_again_re_attaches(emulator: Emulator, tmp_path: Path) -> None:
    client, env, requests = killed_run(emulator, tmp_path)
    killed_batches = {b.id for b in client.batches.list(limit=100)}
    killed_files = {f.id for f in our_files(client)}
    print(f"\nafter the killed run: {counts(client)} (batches, files)")
    assert counts(client) == (PARTS, PARTS)

    text = finish(start(env, "parts", requests, tmp_path / "again"), tmp_path / "again")
    print(f"after the re-run: {counts(client)} (batches, files)")
    assert "Re-attaching: the 3 parts a killed run of this input uploaded" in text, text
    assert "Re-attaching to the batches of a killed run of this job" in text, text
    batches = client.batches.list(limit=100).data
    assert {b.id for b in batches} == killed_batches  # one batch per part in all: none paid twice
    assert {f.id for f in our_files(client)} == killed_files  # nothing uploaded again
    assert all(b.status == "completed" for b in batches)
    assert "Round 1: 6 requests: 6 succeeded, 0 failed" in text
    assert list((tmp_path / "state").iterdir()) == []  # a run that ended on its own leaves no journal


def test_a_changed_setting_or_input_starts_afresh(emulator: Emulator, tmp_path: Path) -> None:
    client, env, requests = killed_run(emulator, tmp_path)
    killed = {b.id for b in client.batches.list(limit=100)}

    # Another setting of the batches: the killed run's parts serve again, its batches do not.
    text = finish(start(env, "changed", requests, tmp_path / "changed"), tmp_path / "changed")
    assert "Re-attaching to the batches" not in text, text
    changed = {b.id for b in client.batches.list(limit=100)} - killed
    assert len(changed) == PARTS
    assert all(client.batches.retrieve(b).metadata.get("setting") == "changed" for b in changed)

    # Another input: new parts, new batches.
    other = write_requests(tmp_path / "other.jsonl", word="bye")
    text = finish(start(env, "parts", other, tmp_path / "other"), tmp_path / "other")
    assert "Re-attaching" not in text, text
    print(f"\nafter a changed setting and a changed input: {counts(client)} (batches, files)")
    assert counts(client) == (3 * PARTS, 2 * PARTS)
