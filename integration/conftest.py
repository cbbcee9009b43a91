"""pytest-recording's settings for the integration suites, and the server each test's plugin talks to.

pytest-recording gives the record modes (``--record-mode``), the network block (the
``block_network`` mark; lifted while recording) and one cassette per test in
``cassettes/<module>/<test>.yaml``; these fixtures add the scrubbing, the body matcher, the
compaction of polls, the strict replay check and the choice of server. Replay by default;
``pytest integration --record-mode=rewrite`` (or ``--record``) re-records every cassette against a
fresh emulator per test, or against OpenAI when OPENAI_API_KEY is set and OPENAI_BASE_URL is not.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Generator, Iterator
from typing import Any

import pytest
from vcr import VCR
from vcr.cassette import Cassette

from flytekitplugins.openai.batch.connector import ALLOWED_BASE_URLS_ENV
from integration.support import compact, matchers, scrub
from integration.support.replay import PlayLog, replayed_ids, replaying
from integration.support.target import Target, record_kind
from openai_batch_jobs import clock

# A batch on OpenAI takes minutes to hours; the suite's usual per-test timeout would cut it off.
OPENAI_RECORDING_TIMEOUT_S = 6 * 3600

# The Flyte secret the upload and download tasks read (env `_FSEC_OPENAI_API_KEY` in local runs),
# and the connector's own secret.
FILE_SECRET_ENV = "_FSEC_OPENAI_API_KEY"
CONNECTOR_SECRET_ENV = "_FSEC_FLYTE_OPENAI_API_KEY"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--record", action="store_true", default=False, help="the same as --record-mode=rewrite")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "emulator(reason, **settings): the scenario needs the emulator's knobs to be recorded "
        "(started with `settings`); skipped when recording against OpenAI",
    )
    if config.getoption("--record") and not config.getoption("--record-mode"):
        config.option.record_mode = "rewrite"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--record-mode") in (None, "none") or record_kind() != "openai":
        return
    for item in items:
        if item.get_closest_marker("vcr"):
            item.add_marker(pytest.mark.timeout(OPENAI_RECORDING_TIMEOUT_S))
        if mark := item.get_closest_marker("emulator"):
            item.add_marker(pytest.mark.skip(reason=f"needs the emulator to record ({mark.args[0]})"))


@pytest.fixture(scope="session")
def vcr_config() -> dict[str, Any]:
    """What pytest-recording passes to each `use_cassette` (the record mode comes from the command line)."""
    secrets = [os.environ.get("OPENAI_API_KEY", "")]
    return {
        "match_on": ("method", "scheme", "host", "port", "path", "query", "body"),
        "allow_playback_repeats": False,
        "decode_compressed_response": True,
        "before_record_request": scrub.request_scrubber(secrets),
        "before_record_response": scrub.response_scrubber(secrets),
    }


def pytest_recording_configure(config: pytest.Config, vcr: VCR) -> None:
    vcr.register_matcher("body", matchers.body)
    vcr.register_persister(compact.CompactingPersister(vcr.persister))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_call_passed] = report.passed
    return report


_call_passed = pytest.StashKey[bool]()


@pytest.fixture
def target(
    request: pytest.FixtureRequest, vcr: Cassette | None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Target]:
    """The server the plugin must use: the cassette's origin in replay, else an emulator or OpenAI.

    A replay must play every recorded interaction once, in order, for a passing test to stay passed.
    """
    assert vcr is not None, "a test of a server needs the `pytest.mark.vcr` mark"
    played = None
    engine_clock: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if vcr.write_protected:  # vcrpy only replays it: record mode none, or once with a cassette
        if not len(vcr):
            pytest.fail(
                f"no cassette for {request.node.name}: record it with `pytest integration --record-mode=rewrite`"
            )
        server = Target.replaying(vcr.requests[0].uri)
        engine_clock = replaying(vcr, monkeypatch)
        played = PlayLog(vcr, monkeypatch)
    elif record_kind() == "openai":
        server = Target(recording=True, kind="openai", api_key=os.environ["OPENAI_API_KEY"], base_url=None)
    else:
        emulator = request.getfixturevalue("emulator")  # openai-batch-emulator's pytest fixture
        if mark := request.node.get_closest_marker("emulator"):
            emulator.configure(**mark.kwargs)
        server = Target(
            recording=True,
            kind="emulator",
            api_key=emulator.api_key,
            base_url=emulator.base_url,
            emulator=emulator,
        )

    # A local run's journal (what a re-run after a kill re-attaches to) stays with this test.
    monkeypatch.setenv("OPENAI_BATCH_JOBS_STATE_DIR", str(request.getfixturevalue("tmp_path") / "journals"))

    # The key reaches the tasks and the connector the way Flyte gives it (env secrets), and nothing else.
    for name in ("OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "OPENAI_ORGANIZATION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(FILE_SECRET_ENV, server.api_key)
    monkeypatch.setenv(CONNECTOR_SECRET_ENV, server.api_key)
    if server.base_url:
        # The connector sends its key only to servers it is told to trust; loopback needs no entry,
        # the placeholder host of replays does.
        monkeypatch.setenv(ALLOWED_BASE_URLS_ENV, server.base_url)
    # A local run's job ids go into the requests' bodies: the same ids, recording or replaying.
    with engine_clock, clock.using(ids=replayed_ids(request.node.nodeid)):
        yield server
    if played is not None and request.node.stash.get(_call_passed, False):
        played.check()
