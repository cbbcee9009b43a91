"""What a replay adds to vcrpy: the check that the cassette played through, the recording's clock and ids, no waiting.

vcrpy (with ``allow_playback_repeats=False``) answers each request with the first unplayed matching
interaction, but accepts interactions played out of order or not at all. `PlayLog` records the order
in which the cassette plays, and `check` wants each interaction once, in the recorded order.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import time
import types
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from vcr.cassette import Cassette

from openai_batch_jobs import clock


class PlayLog(list[int]):
    """Indices of the interactions a cassette played, in the order it played them."""

    def __init__(self, cassette: Cassette, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__()
        self.cassette = cassette
        play = cassette.play_response

        def logged(request: Any) -> Any:
            response = play(request)
            self.append(next(i for i, (_, stored) in enumerate(cassette.data) if stored is response))
            return response

        monkeypatch.setattr(cassette, "play_response", logged)

    def check(self) -> None:
        recorded = len(self.cassette)
        assert list(self) == list(range(recorded)), (
            f"the replay played interactions {list(self)} of the {recorded} recorded "
            "(each must play once, in the recorded order)"
        )


class ReplayClock:
    """A clock for a cassette's replay: the wall clock stands where the recording's did, and waits
    take no time.

    A job keeps only the batches created since it began (and a repeated create looks back a few
    hours), so a replay days later must not see the recorded batches as too old. The waits only pace
    a live server, which a cassette is not: each returns at once, with the monotonic clock moved on
    by the wait, so that deadlines and poll schedules count it as spent.
    """

    def __init__(self, wall: float | None) -> None:
        self._wall = wall
        self._skipped = 0.0

    def now(self) -> float:
        return time.time() if self._wall is None else self._wall

    def monotonic(self) -> float:
        return time.monotonic() + self._skipped

    def sleep(self, seconds: float) -> None:
        self._skipped += max(seconds, 0.0)

    async def asleep(self, seconds: float) -> None:
        import anyio.lowlevel

        self._skipped += max(seconds, 0.0)
        await anyio.lowlevel.checkpoint()


def recorded_wall_clock(cassette: Cassette) -> float | None:
    """When the cassette's first created batch was created (None: it created none)."""
    for request, response in zip(cassette.requests, cassette.responses, strict=False):
        if (
            request.method == "POST"
            and request.path.endswith("/v1/batches")
            and response["status"]["code"] == 200
        ):
            body = response["body"]["string"]
            return float(json.loads(body if isinstance(body, str) else body.decode())["created_at"])
    return None


def replaying(cassette: Cassette, monkeypatch: pytest.MonkeyPatch) -> contextlib.AbstractContextManager[None]:
    """The engine on `ReplayClock` (set through `openai_batch_jobs.clock.using`), and the OpenAI SDK's
    own waits between its retries of 429/5xx answers dropped.

    The SDK takes no clock, so its view of `time` and `anyio` is the one thing replaced in a module.
    """
    import anyio.lowlevel
    import openai._base_client as sdk_client

    async def checkpoint(seconds: float) -> None:
        await anyio.lowlevel.checkpoint()

    monkeypatch.setattr(
        sdk_client, "time", types.SimpleNamespace(**{**vars(time), "sleep": lambda seconds: None})
    )
    monkeypatch.setattr(sdk_client, "anyio", types.SimpleNamespace(**{**vars(anyio), "sleep": checkpoint}))
    return clock.using(clock=ReplayClock(recorded_wall_clock(cassette)))


def replayed_ids(node_id: str) -> Callable[[], uuid.UUID]:
    """The same sequence of ids for each run of a test, recording or replaying.

    A local run names its job with a fresh id, which goes into the requests' bodies: the same ids
    keep the bodies matching.
    """
    seed = int.from_bytes(hashlib.sha256(node_id.encode()).digest()[:8], "big")
    keys = (uuid.UUID(int=(seed << 32) + n) for n in itertools.count())
    return lambda: next(keys)
