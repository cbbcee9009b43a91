"""State lives in the data directory: a new emulator on the same directory carries on."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import pytest

from openai_batch_emulator import Emulator
from tests.support.waiting import wait_until

from .helpers import FINAL, chat_line, read_lines, start_batch, upload, wait

pytestmark = pytest.mark.slow


def test_restart_keeps_files_and_finishes_running_batches(tmp_path: Path) -> None:
    with (
        Emulator(
            data_dir=tmp_path, validating_seconds=0.05, finalizing_seconds=0.05, requests_per_second=25
        ) as first,
        first.client() as client,
    ):
        notes = upload(client, [chat_line("n")], name="notes.jsonl")
        batch = start_batch(client, [chat_line(f"r{i}") for i in range(30)], metadata={"run": "1"})
        running = wait_until(
            functools.partial(client.batches.retrieve, batch.id),
            until=lambda b: b.request_counts is not None and b.request_counts.completed >= 5,
            what="five requests answered",
        )
    # A different default speed: the batch keeps the settings it was created with.
    with Emulator(data_dir=tmp_path, requests_per_second=1) as second, second.client() as client:
        assert client.files.retrieve(notes.id).filename == "notes.jsonl"
        assert client.files.content(notes.id).read().startswith(b'{"custom_id": "n"')
        resumed = client.batches.retrieve(batch.id)
        assert resumed.metadata == {"run": "1"}
        assert resumed.request_counts is not None
        assert resumed.request_counts.completed >= running.request_counts.completed
        done = wait(client, batch.id)
        assert done.status == "completed"
        assert done.request_counts is not None
        assert done.request_counts.completed == 30
        results = read_lines(client, done.output_file_id)
        # Every request answered exactly once, in order, across the restart.
        assert [r["custom_id"] for r in results] == [f"r{i}" for i in range(30)]
        assert len({r["id"] for r in results}) == 30


def test_time_passes_while_stopped(tmp_path: Path) -> None:
    with Emulator(data_dir=tmp_path, validating_seconds=0.3) as first, first.client() as client:
        batch = start_batch(client, [chat_line("a")])
        assert batch.status == "validating"
    time.sleep(0.8)
    with Emulator(data_dir=tmp_path) as second, second.client() as client:
        # Already due: the first read shows the finished batch.
        done = client.batches.retrieve(batch.id)
        assert done.status == "completed"
        assert done.in_progress_at is not None
        assert done.completed_at is not None
        assert done.completed_at - done.created_at < 2


def test_finished_batches_and_results_survive(tmp_path: Path) -> None:
    with (
        Emulator(data_dir=tmp_path, validating_seconds=0.05, finalizing_seconds=0.05) as first,
        first.client() as client,
    ):
        done = wait(client, start_batch(client, [chat_line("a"), chat_line("b")]).id)
        before = read_lines(client, done.output_file_id)
    with Emulator(data_dir=tmp_path) as second, second.client() as client:
        assert client.batches.retrieve(done.id) == done
        assert read_lines(client, done.output_file_id) == before
        assert {f.id for f in client.files.list()} == {done.input_file_id, done.output_file_id}


def test_lines_written_after_the_last_save_are_discarded(tmp_path: Path) -> None:
    """A crash between writing results and saving the record must not duplicate results."""
    with (
        Emulator(data_dir=tmp_path, validating_seconds=0.05, requests_per_second=0) as first,
        first.client() as client,
    ):
        batch = wait(client, start_batch(client, [chat_line("a"), chat_line("b")]).id, ("in_progress",))
    partial = tmp_path / "work" / batch.id / "output.jsonl"
    partial.write_bytes(b'{"custom_id": "ghost"}\n')
    with Emulator(data_dir=tmp_path) as second, second.client() as client:
        client.batches.cancel(batch.id)
        done = wait(client, batch.id, FINAL)
        assert done.status == "cancelled"
        assert done.output_file_id is None  # the ghost line is gone, nothing was answered


def test_one_emulator_per_data_directory(tmp_path: Path) -> None:
    with Emulator(data_dir=tmp_path), pytest.raises(RuntimeError, match="another emulator"):
        Emulator(data_dir=tmp_path).start()
    with Emulator(data_dir=tmp_path) as again:  # released on stop
        assert again.port is not None


def test_temporary_data_directory_is_removed(tmp_path: Path) -> None:
    emulator = Emulator()
    with emulator:
        assert emulator.data_dir.is_dir()
    assert not emulator.data_dir.exists()
