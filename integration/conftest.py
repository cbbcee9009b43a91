"""Fixtures of the integration suites: a cassette and a target server around each test.

Replay by default; `uv run --frozen pytest integration --record` (or OPENAI_BATCH_RECORD=1)
re-records every cassette against a fresh emulator per test, or against OpenAI when OPENAI_API_KEY
is set and OPENAI_BASE_URL is not.
"""

from __future__ import annotations

import shutil
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from flytekitplugins.openai.batch.connector import ALLOWED_BASE_URLS_ENV
from integration.support.compact import compact_cassette
from integration.support.recorder import (
    Session,
    cassette_path,
    record_kind,
    recording,
    recording_requested,
    replaying,
)

# A batch on OpenAI takes minutes to hours; the suite's usual per-test timeout would cut it off.
OPENAI_RECORDING_TIMEOUT_S = 6 * 3600

# The Flyte secret the upload and download tasks read (env `_FSEC_OPENAI_API_KEY` in local runs),
# and the connector's own secret.
FILE_SECRET_GROUP = "openai"
FILE_SECRET_KEY = "api_key"
CONNECTOR_SECRET = "FLYTE_OPENAI_API_KEY"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record",
        action="store_true",
        default=False,
        help="re-record the integration cassettes (emulator; OpenAI when OPENAI_API_KEY is set)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if recording_requested(config) and record_kind() == "openai":
        for item in items:
            if "recorded" in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.timeout(OPENAI_RECORDING_TIMEOUT_S))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_call_passed] = report.passed
    return report


_call_passed = pytest.StashKey[bool]()


def _point_plugin_at(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the tasks and the connector their key the way Flyte would (env secrets), and nothing else."""
    for name in ("OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "OPENAI_ORGANIZATION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(f"_FSEC_{FILE_SECRET_GROUP.upper()}_{FILE_SECRET_KEY.upper()}", session.target.api_key)
    monkeypatch.setenv(f"_FSEC_{CONNECTOR_SECRET}", session.target.api_key)
    if session.target.base_url:
        # The connector sends its key only to servers it is told to trust; loopback needs no entry,
        # the placeholder host of replays does.
        monkeypatch.setenv(ALLOWED_BASE_URLS_ENV, session.target.base_url)


@pytest.fixture
def recorded(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Session]:
    """The test's cassette (replayed, or recorded when asked) and the server the plugin must use."""
    path = cassette_path(request.node.nodeid)
    if not recording_requested(request.config):
        with replaying(path, monkeypatch) as session:
            _point_plugin_at(session, monkeypatch)
            yield session
            if request.node.stash.get(_call_passed, False):
                session.verify_replay()
        return
    workdir = tmp_path / "recording"
    workdir.mkdir()
    with recording(path, workdir) as session:
        _point_plugin_at(session, monkeypatch)
        yield session
    if request.node.stash.get(_call_passed, False):
        compact_cassette(session.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(session.path, path)
