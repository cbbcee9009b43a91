"""How a local run (`pyflyte run`, or calling the task in Python) waits for its batch.

flytekit's local executor sleeps a fixed second before every GetTask, whatever the job. A batch lasts
from a second (a small one, or the emulator) to 24 hours, so this loop polls soon after creating it
and then every tenth of the time waited so far, up to five minutes: a finished batch is seen within
about a tenth of its run time, and a 24-hour batch costs a few hundred calls. In a cluster,
FlytePropeller decides when GetTask is called; this is only the local executor's loop.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any

from flyteidl.core.execution_pb2 import TaskExecution
from flytekit.extend.backend.utils import is_terminal_phase, mirror_async_methods
from flytekit.loggers import set_flytekit_log_properties
from rich.logging import RichHandler
from rich.progress import Progress

from ._compat import Resource, ResourceMeta

FIRST_POLL_S = 0.1
POLL_FRACTION = 0.1
MAX_POLL_S = 300.0
# How soon a Ctrl-C (whose handler cancels the batch) ends the wait, however long the current one.
INTERRUPT_CHECK_S = 0.2


def poll_delay(elapsed: float) -> float:
    """Seconds to wait before the next poll, `elapsed` seconds after the batch was created."""
    return min(MAX_POLL_S, max(FIRST_POLL_S, elapsed * POLL_FRACTION))


async def poll_until_done(
    name: str, connector: Any, resource_meta: ResourceMeta, interrupted: Callable[[], bool]
) -> Resource:
    """flytekit's local polling loop and progress display, on the schedule of `poll_delay`.

    `interrupted` turns true once the Ctrl-C handler has cancelled the batch; the run then exits,
    as flytekit's own loop does.
    """
    start = time.monotonic()
    progress = Progress(transient=True)
    set_flytekit_log_properties(RichHandler(log_time_format="%H:%M:%S.%f"), None, None)
    running = progress.add_task(f"[cyan]Running Task {name}...", total=None)
    phase_line = progress.add_task("[cyan]Task phase: RUNNING, Phase message: ", total=None, visible=False)
    links_line = progress.add_task("[cyan]Log Links: ", total=None, visible=False)
    with progress:
        progress.start_task(running)
        while True:
            await _sleep(poll_delay(time.monotonic() - start), interrupted)
            resource: Resource = await mirror_async_methods(connector.get, resource_meta=resource_meta)
            if interrupted():
                sys.exit(1)
            progress.update(
                phase_line,
                description=f"[cyan]Task phase: {TaskExecution.Phase.Name(resource.phase)}, "
                f"Phase message: {resource.message}",
                visible=True,
            )
            links = "".join(f"{link.name}: {link.uri}\n" for link in resource.log_links or [])
            if links:
                progress.update(links_line, description=f"[cyan]{links}", visible=True)
            if is_terminal_phase(resource.phase):
                return resource


async def _sleep(seconds: float, interrupted: Callable[[], bool]) -> None:
    """Sleep in short slices, so that a Ctrl-C ends a long wait at once (exiting as flytekit does)."""
    end = time.monotonic() + seconds
    while not interrupted():
        left = end - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, INTERRUPT_CHECK_S))
    sys.exit(1)
