"""The server a test's plugin talks to: the cassette's recorded origin, a fresh emulator, or OpenAI."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

from .scrub import EMULATOR_ORIGIN

# Any non-empty key does in replay: cassettes never hold the key that recorded them.
REPLAY_API_KEY = "replay-placeholder-key"

Kind = Literal["emulator", "openai"]


def record_kind() -> Kind:
    """The server a recording talks to: OpenAI only when a key is given and no other server is named."""
    if os.environ.get("OPENAI_API_KEY") and not os.environ.get("OPENAI_BASE_URL"):
        return "openai"
    return "emulator"


@dataclass
class Target:
    """The server the plugin is pointed at in this test, and how to reach it."""

    recording: bool
    kind: Kind
    api_key: str
    # What the plugin is given as base_url; None leaves the SDK's default (OpenAI).
    base_url: str | None
    # The running emulator when recording against one (its knobs shape the scenario).
    emulator: Any = None

    @classmethod
    def replaying(cls, recorded_uri: str) -> Target:
        """Point the plugin where the cassette's first request went (after scrubbing)."""
        origin = re.match(r"https?://[^/]+", recorded_uri)
        if origin is None or origin.group(0) != EMULATOR_ORIGIN:
            return cls(recording=False, kind="openai", api_key=REPLAY_API_KEY, base_url=None)
        return cls(recording=False, kind="emulator", api_key=REPLAY_API_KEY, base_url=f"{EMULATOR_ORIGIN}/v1")

    def pause(self, seconds: float) -> None:
        """Give a live server time between polls; a replay needs none (its answers are recorded)."""
        if self.recording:
            time.sleep(seconds)

    def inject_fault(self, method: str, path: str, **fault: Any) -> None:
        """Make the emulator fail the next matching requests (when recording; a replay has them already).

        Tests that inject faults carry the `emulator` mark, so they never record against OpenAI.
        """
        if self.recording:
            self.emulator.inject_fault(method, path, **fault)
