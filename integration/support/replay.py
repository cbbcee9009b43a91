"""What a replay adds to vcrpy: the check that the cassette played through, and no waiting.

vcrpy (with ``allow_playback_repeats=False``) answers each request with the first unplayed matching
interaction, but accepts interactions played out of order or not at all. `PlayLog` records the order
in which the cassette plays, and `check` wants each interaction once, in the recorded order.
"""

from __future__ import annotations

import types
from typing import Any

import pytest
from vcr.cassette import Cassette


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


def _without_waits(module: types.ModuleType, **instant: Any) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{**vars(module), **instant})


async def _checkpoint(seconds: float) -> None:
    import anyio.lowlevel

    await anyio.lowlevel.checkpoint()


def drop_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop the waits that only pace a live server, since a cassette answers at once.

    A local run waits between polls of the batch (`batch.local.poll`), the connector and the download
    back off between tries (`core.retry`), and the OpenAI SDK between retries of 429/5xx answers. Only these modules'
    view of `asyncio` / `time` / `anyio` is replaced, not the modules themselves.
    """
    import asyncio
    import time

    import anyio
    import openai._base_client as sdk_client

    # The connector's (and the download's) backoff sleeps in the shared retry module.
    from flytekitplugins.openai.batch.local import poll as local_poll
    from openai_batch_jobs.api import retry

    for waiting in (local_poll, retry):
        monkeypatch.setattr(waiting, "asyncio", _without_waits(asyncio, sleep=_checkpoint))
    for module in (retry, sdk_client):
        monkeypatch.setattr(module, "time", _without_waits(time, sleep=lambda seconds: None))
    monkeypatch.setattr(sdk_client, "anyio", _without_waits(anyio, sleep=_checkpoint))


def freeze_wall_clock(cassette: Cassette, monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the connectors' batch calls the recording's wall clock: a job keeps only the batches
    created since it began (and a repeated create looks back a few hours), so a replay days later
    must not see the recorded batches as too old.

    The clock stands at the first batch the cassette created (none: nothing to freeze).
    """
    import json
    import time

    from openai_batch_jobs.api import batches
    from openai_batch_jobs.job import runner

    for request, response in zip(cassette.requests, cassette.responses, strict=False):
        if (
            request.method == "POST"
            and request.path.endswith("/v1/batches")
            and response["status"]["code"] == 200
        ):
            body = response["body"]["string"]
            created = json.loads(body if isinstance(body, str) else body.decode())["created_at"]
            for module in (batches, runner):
                monkeypatch.setattr(module, "time", _without_waits(time, time=lambda at=float(created): at))
            return
