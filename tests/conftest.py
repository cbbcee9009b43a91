"""Fixtures shared by every test suite."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.wheels import built_wheels

if TYPE_CHECKING:
    from openai_batch_emulator import Emulator


# Fixtures that start a service (a server, a process, a pytest run of its own): a test taking any of them
# is `slow`, which keeps `pytest -m "not slow"` to the pure functions.
SERVICE_FIXTURES = frozenset(
    {"emulator", "openai_client", "async_openai_client", "target", "job_service", "plugin_wheels", "pytester"}
)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by mark
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def plugin_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workspace's wheels, built once and shared by all xdist workers of this session."""
    basetemp = tmp_path_factory.getbasetemp()
    # Under xdist each worker has its own basetemp inside one folder per run.
    shared = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    return built_wheels(shared)


@pytest.fixture
def connector_key(monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> str:
    """The connectors' secret (batch and ChatGPT), as the plain environment variable flytekit also reads."""
    monkeypatch.delenv("_FSEC_FLYTE_OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("FLYTE_OPENAI_API_KEY", emulator.api_key)
    return emulator.api_key


@pytest.fixture(autouse=True)
def run_journals(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Local runs keep their journals (`openai_batch_jobs.recovery.journal`) in a folder of the test's
    own, and so do the processes it starts, rather than in the user's state folder."""
    folder = tmp_path_factory.mktemp("journals")
    monkeypatch.setenv("OPENAI_BATCH_JOBS_STATE_DIR", str(folder))
    return folder


@pytest.fixture
def anyio_backend() -> str:
    """The connectors' coroutines run on asyncio, as in flytekit's service and local executor."""
    return "asyncio"
