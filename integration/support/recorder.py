"""Record or replay: which server the plugin talks to, and the vcrpy cassette around each test.

Replay (the default) serves every request from a committed cassette with the network blocked, so CI
needs no server. Recording (``pytest integration --record`` or ``OPENAI_BATCH_RECORD=1``) talks to a
fresh emulator per test, or to OpenAI when ``OPENAI_API_KEY`` is set and ``OPENAI_BASE_URL`` is not,
and keeps the new cassette only if the test passed.
"""

from __future__ import annotations

import os
import re
import time
import types
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
import vcr
import yaml
from vcr.cassette import Cassette

from . import matchers
from .netguard import Attempts, network_blocked
from .scrub import EMULATOR_ORIGIN, request_scrubber, response_scrubber

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
RECORD_ENV = "OPENAI_BATCH_RECORD"
OPENAI_ORIGIN = "https://api.openai.com"
# Any non-empty key does in replay: cassettes never hold the key that recorded them.
REPLAY_API_KEY = "replay-placeholder-key"
MATCH_ON = ("method", "scheme", "host", "port", "path", "query", "body")

Mode = Literal["replay", "record"]
Kind = Literal["emulator", "openai"]


def recording_requested(config: pytest.Config) -> bool:
    return bool(config.getoption("--record")) or os.environ.get(RECORD_ENV, "") not in ("", "0")


def record_kind() -> Kind:
    """The server a recording talks to: OpenAI only when a key is given and no other server is named."""
    if os.environ.get("OPENAI_API_KEY") and not os.environ.get("OPENAI_BASE_URL"):
        return "openai"
    return "emulator"


def cassette_path(nodeid: str) -> Path:
    """integration/cassettes/<module>/<test name>.yaml, from a pytest node id."""
    module, _, name = nodeid.partition("::")
    stem = Path(module).stem
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name.replace("::", ".")).strip("-")
    return CASSETTES / stem / f"{safe}.yaml"


def recorded_origin(path: Path) -> str:
    """The origin a cassette was recorded against (after scrubbing): the emulator's or OpenAI's."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    interactions = data.get("interactions") or []
    if not interactions:
        raise AssertionError(f"cassette {path} has no interactions; re-record it")
    uri = interactions[0]["request"]["uri"]
    match = re.match(r"https?://[^/]+", uri)
    if not match:
        raise AssertionError(f"cassette {path} has a request without an origin: {uri}")
    return match.group(0)


@dataclass
class Target:
    """The server the plugin is pointed at in this test, and how to reach it."""

    mode: Mode
    kind: Kind
    api_key: str
    # What the plugin is given as base_url; None leaves the SDK's default (OpenAI).
    base_url: str | None
    emulator: Any = None
    secrets: list[str] = field(default_factory=list)

    @property
    def recording(self) -> bool:
        return self.mode == "record"

    def emulator_settings(self, reason: str, **settings: Any) -> None:
        """Apply emulator knobs when recording against the emulator; skip the recording against OpenAI.

        In replay the knobs are already in the cassette, so nothing is done.
        """
        if not self.recording:
            return
        if self.emulator is None:
            pytest.skip(f"needs the emulator to record ({reason}); not recordable against OpenAI")
        if settings:
            self.emulator.configure(**settings)

    def pause(self, seconds: float) -> None:
        """Give a live server time between polls; a replay needs none (its answers are recorded)."""
        if self.recording:
            time.sleep(seconds)

    def inject_fault(self, method: str, path: str, **fault: Any) -> None:
        """Make the emulator fail the next matching requests (record mode, emulator only)."""
        if not self.recording:
            return
        if self.emulator is None:
            pytest.skip("needs the emulator's fault injection to record; not recordable against OpenAI")
        self.emulator.inject_fault(method, path, **fault)


def replay_target(path: Path) -> Target:
    origin = recorded_origin(path)
    base_url = f"{origin}/v1" if origin == EMULATOR_ORIGIN else None
    kind: Kind = "emulator" if origin == EMULATOR_ORIGIN else "openai"
    return Target(mode="replay", kind=kind, api_key=REPLAY_API_KEY, base_url=base_url)


def build_vcr(library: Path, record_mode: str, secrets: list[str]) -> vcr.VCR:
    recorder = vcr.VCR(
        cassette_library_dir=str(library),
        serializer="yaml",
        record_mode=record_mode,
        match_on=MATCH_ON,
        decode_compressed_response=True,
        before_record_request=request_scrubber(secrets),
        before_record_response=response_scrubber(secrets),
    )
    recorder.register_matcher("body", matchers.body)
    return recorder


def use_cassette(library: Path, name: str, record_mode: str, secrets: list[str]) -> Any:
    """A cassette context: every interaction plays at most once, so polls replay in sequence."""
    return build_vcr(library, record_mode, secrets).use_cassette(name, allow_playback_repeats=False)


class _InstantTime(types.SimpleNamespace):
    """Stands in for the `time` module of code whose waits only pace a live server."""

    def __getattr__(self, name: str) -> Any:
        import time

        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        return None


class _InstantAnyio(types.SimpleNamespace):
    def __getattr__(self, name: str) -> Any:
        import anyio

        return getattr(anyio, name)

    @staticmethod
    async def sleep(seconds: float) -> None:
        import anyio.lowlevel

        await anyio.lowlevel.checkpoint()


def instant_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay only: drop the waits that pace a live server, since a cassette answers at once.

    flytekit's local connector executor sleeps 1 s before every poll (hard-coded, no option), the
    connector backs off between tries of CreateTask, and the OpenAI SDK between retries of 429/5xx
    answers. Only these modules' view of `time` / `anyio` is replaced, not the modules themselves.
    """
    import openai._base_client as sdk_client

    from flytekitplugins.openai.batch import connector

    try:
        from flytekit.extend.backend import base_connector as local_executor
    except ImportError:  # flytekit 1.15 calls it an agent
        from flytekit.extend.backend import base_agent as local_executor

    monkeypatch.setattr(local_executor, "time", _InstantTime())
    monkeypatch.setattr(connector, "time", _InstantTime())
    monkeypatch.setattr(sdk_client, "time", _InstantTime())
    monkeypatch.setattr(sdk_client, "anyio", _InstantAnyio())


class PlayOrder:
    """Checks that a replay plays the cassette's interactions in the order they were recorded."""

    def __init__(self, cassette: Cassette) -> None:
        self.cassette = cassette
        self.played: list[int] = []
        original = cassette.play_response

        def play_response(request: Any) -> Any:
            before = dict(cassette.play_counts)
            response = original(request)
            self.played.extend(i for i, n in cassette.play_counts.items() if n != before.get(i, 0))
            return response

        cassette.play_response = play_response

    def check(self) -> None:
        assert self.played == sorted(self.played), (
            f"interactions were replayed out of their recorded order: {self.played}"
        )


@dataclass
class Session:
    """One test's cassette and target, handed to the test by the `recorded` fixture."""

    target: Target
    cassette: Cassette
    path: Path
    attempts: Attempts | None = None
    order: PlayOrder | None = None

    def verify_replay(self) -> None:
        """After a passing replay: no network touched, everything played, in the recorded order."""
        assert not self.attempts, (
            f"the test tried to reach the network while replaying: {list(self.attempts or [])}"
        )
        if self.order is not None:
            self.order.check()
        cassette = self.cassette
        unplayed = len(cassette) - sum(1 for n in cassette.play_counts.values() if n)
        assert cassette.all_played, f"{unplayed} of {len(cassette)} recorded interactions were not replayed"


@contextmanager
def replaying(path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    if not path.exists():
        pytest.fail(
            f"no cassette {path.relative_to(CASSETTES.parent.parent)}: record it with `pytest integration --record`"
        )
    target = replay_target(path)
    instant_waits(monkeypatch)
    with ExitStack() as stack:
        attempts = stack.enter_context(network_blocked())
        cassette = stack.enter_context(use_cassette(path.parent, path.name, "none", []))
        yield Session(
            target=target, cassette=cassette, path=path, attempts=attempts, order=PlayOrder(cassette)
        )


@contextmanager
def recording(path: Path, workdir: Path) -> Iterator[Session]:
    """Record into `workdir`; the caller moves the cassette into place once the test has passed."""
    with ExitStack() as stack:
        if record_kind() == "openai":
            key = os.environ["OPENAI_API_KEY"]
            target = Target(mode="record", kind="openai", api_key=key, base_url=None, secrets=[key])
        else:
            from openai_batch_emulator import Emulator

            emulator = stack.enter_context(Emulator(data_dir=workdir / "emulator"))
            target = Target(
                mode="record",
                kind="emulator",
                api_key=emulator.api_key,
                base_url=emulator.base_url,
                emulator=emulator,
                secrets=[emulator.api_key],
            )
        cassette = stack.enter_context(use_cassette(workdir, path.name, "all", target.secrets))
        yield Session(target=target, cassette=cassette, path=workdir / path.name)
