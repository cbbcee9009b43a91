"""The pytest plugin's fixtures, as another test suite would use them."""

from __future__ import annotations

import threading
from typing import Any

import openai
import pytest

from openai_batch_emulator import Emulator

from .helpers import chat_line, read_lines, start_batch, wait


@pytest.fixture
def emulator_settings() -> dict[str, Any]:
    return {"validating_seconds": 0.01, "finalizing_seconds": 0.01, "fail_custom_ids": "^bad"}


def test_emulator_settings_fixture_configures_the_emulator(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    assert emulator.settings.fail_custom_ids == "^bad"
    assert str(openai_client.base_url).rstrip("/") == emulator.base_url
    assert openai_client.api_key == emulator.api_key
    done = wait(openai_client, start_batch(openai_client, [chat_line("good"), chat_line("bad")]).id)
    assert [r["custom_id"] for r in read_lines(openai_client, done.error_file_id)] == ["bad"]


def test_each_test_gets_its_own_emulator(
    emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Nothing left over from other tests: a fresh data directory on a fresh port.
    with emulator.client() as client:
        assert client.files.list().data == []
        assert client.batches.list().data == []
    assert emulator.data_dir.is_relative_to(tmp_path_factory.getbasetemp())


def test_concurrent_clients(emulator: Emulator) -> None:
    """Many clients creating, polling and cancelling at once: every batch ends consistent."""
    emulator.configure(validating_seconds=5)  # cancels surely land before completion, even on a slow machine
    problems: list[BaseException] = []
    finished: dict[str, Any] = {}

    def run(n: int) -> None:
        try:
            with emulator.client() as client:
                batch = start_batch(
                    client, [chat_line(f"{n}-{i}") for i in range(20)], metadata={"n": str(n)}
                )
                if n % 3 == 0:
                    client.batches.cancel(batch.id)
                done = wait(client, batch.id)
                finished[batch.id] = (done, read_lines(client, done.output_file_id))
        except BaseException as exc:
            problems.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert len(finished) == 12
    for done, lines in finished.values():
        assert done.status == ("cancelled" if int(done.metadata["n"]) % 3 == 0 else "completed")
        assert done.request_counts.completed == len(lines)
        assert len({line["custom_id"] for line in lines}) == len(lines)


@pytest.mark.slow
def test_loading_the_plugin_is_cheap() -> None:
    """pytest loads the plugin in every run of the workspace; the server stack waits for a fixture."""
    import subprocess
    import sys

    code = "import sys, openai_batch_emulator.server.pytest_plugin; print(sorted({'uvicorn', 'starlette', 'openai'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
