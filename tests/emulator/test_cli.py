"""The `openai-batch-emulator` command, run as a user would run it."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from .helpers import chat_line, start_batch, wait

pytestmark = pytest.mark.slow

COMMAND = str(Path(sys.executable).parent / "openai-batch-emulator")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [
            COMMAND,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "data"),
            "--api-key",
            "sk-cli",
            "--validating-seconds",
            "0.05",
            "--finalizing-seconds",
            "0.05",
            "--requests-per-second",
            "500",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline().strip()
        yield process, first_line
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def test_prints_base_url_first_and_serves(served: tuple[subprocess.Popen[str], str]) -> None:
    _process, base_url = served
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", base_url), base_url
    with openai.OpenAI(base_url=base_url, api_key="sk-cli") as client:
        done = wait(client, start_batch(client, [chat_line("a")]).id)
        assert done.status == "completed"
    with (
        openai.OpenAI(base_url=base_url, api_key="sk-other", max_retries=0) as client,
        pytest.raises(openai.AuthenticationError),
    ):
        client.files.list()
    settings = httpx.get(base_url.removesuffix("/v1") + "/_emulator/settings").json()
    assert settings["requests_per_second"] == 500.0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stops_on_signals(served: tuple[subprocess.Popen[str], str], sig: signal.Signals) -> None:
    process, base_url = served
    assert httpx.get(base_url.removesuffix("/v1") + "/_emulator/health").status_code == 200
    process.send_signal(sig)
    assert process.wait(10) in (0, -sig)
    assert process.stderr is not None
    assert "Traceback" not in process.stderr.read()


@pytest.mark.parametrize("command", [[COMMAND], [sys.executable, "-m", "openai_batch_emulator"]])
def test_bad_arguments_are_reported(tmp_path: Path, command: list[str]) -> None:
    result = subprocess.run(
        [*command, "--data-dir", str(tmp_path), "--requests-per-second", "fast"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "requests_per_second" in result.stderr


def test_settings_given_as_json_are_checked(tmp_path: Path) -> None:
    result = subprocess.run(
        [COMMAND, "--data-dir", str(tmp_path), "--enqueued-token-limits", '{"gpt-4o-mini": -1}'],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "the limit of 'gpt-4o-mini' must be a positive integer" in result.stderr


def _start(data_dir: Path, *options: str) -> tuple[subprocess.Popen[str], str]:
    """The command without --port, its base URL read from its first line."""
    process = subprocess.Popen(
        [COMMAND, "--data-dir", str(data_dir), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def _stop(process: subprocess.Popen[str]) -> str:
    """Stop it as a user would (SIGTERM); its stderr."""
    process.terminate()
    _, stderr = process.communicate(timeout=30)
    return stderr


def test_a_restart_keeps_the_port_and_runs_in_flight_carry_on(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first, base_url = _start(data, "--validating-seconds", "0.05", "--requests-per-second", "10")
    try:
        with openai.OpenAI(base_url=base_url, api_key="sk-any", max_retries=5) as client:
            batch = wait(
                client, start_batch(client, [chat_line(f"r{i}") for i in range(20)]).id, ("in_progress",)
            )
            assert "Traceback" not in _stop(first)
            second, again = _start(data)
            try:
                assert again == base_url
                # The same client, still on the old URL, sees the batch through.
                done = wait(client, batch.id, timeout=60)
                assert done.status == "completed"
                assert done.request_counts is not None
                assert done.request_counts.completed == 20
            finally:
                _stop(second)
    finally:
        if first.poll() is None:
            first.kill()


def test_a_taken_port_falls_back_to_a_free_one_and_says_so(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first, base_url = _start(data)
    _stop(first)
    port = int(base_url.rsplit(":", 1)[1].removesuffix("/v1"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen(1)
        second, moved = _start(data)
        try:
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", moved), moved
            assert moved != base_url
            assert httpx.get(moved.removesuffix("/v1") + "/_emulator/health").status_code == 200
        finally:
            stderr = _stop(second)
    assert f"port {port}, which this data directory was served on last time, is not available" in stderr
    third, remembered = _start(data)  # the new port is the one remembered now
    _stop(third)
    assert remembered == moved


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        run = subprocess.run(
            [sys.executable, "-m", "openai_batch_emulator", "--port", str(port), "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in run.stderr
    assert "Traceback" not in run.stderr
