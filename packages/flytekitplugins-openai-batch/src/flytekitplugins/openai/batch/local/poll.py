"""How a local run (`pyflyte run`, or calling the task in Python) waits for its batch.

flytekit's local executor sleeps a fixed second before every GetTask, whatever the job. A batch lasts
from a second (a small one, or the emulator) to 24 hours, so this loop polls soon after creating it
and then every tenth of the time waited so far, up to five minutes: a finished batch is seen within
about a tenth of its run time, and a 24-hour batch costs a few hundred calls. In a cluster,
FlytePropeller decides when GetTask is called; this is only the local executor's loop.
"""

from __future__ import annotations

from typing import Any

from flyteidl.core.execution_pb2 import TaskExecution
from flytekit.extend.backend.utils import is_terminal_phase, mirror_async_methods

from openai_batch_jobs import interrupts
from openai_batch_jobs.clock import clock
from openai_batch_jobs.job.progress import ProgressLine

from .._compat import Resource, ResourceMeta

FIRST_POLL_S = 0.1
POLL_FRACTION = 0.1
MAX_POLL_S = 300.0
# How soon a signal ends the wait, however long the current one.
INTERRUPT_CHECK_S = 0.2


def poll_delay(elapsed: float) -> float:
    """Seconds to wait before the next poll, `elapsed` seconds after the batch was created."""
    return min(MAX_POLL_S, max(FIRST_POLL_S, elapsed * POLL_FRACTION))


async def poll_until_done(name: str, connector: Any, resource_meta: ResourceMeta) -> Resource:
    """flytekit's local polling loop, on the schedule of `poll_delay`, showing `progress.ProgressLine`.

    A signal (`interrupts`) ends the wait between polls, within INTERRUPT_CHECK_S, never in the
    middle of one.
    """
    start = clock().monotonic()
    line = ProgressLine(name)
    # A job with nothing to run (`BatchJobMetadata.done_at_create`) is asked at once, not after a wait.
    wait = not getattr(resource_meta, "done_at_create", False)
    with interrupts.patience():
        try:
            return await _poll(connector, resource_meta, line, start, wait)
        finally:
            line.close()


async def _poll(
    connector: Any, resource_meta: ResourceMeta, line: ProgressLine, start: float, wait: bool
) -> Resource:
    while True:
        if wait:
            await _sleep(poll_delay(clock().monotonic() - start))
        wait = True
        resource: Resource = await mirror_async_methods(connector.get, resource_meta=resource_meta)
        interrupts.check()
        info = resource.custom_info
        line.update(dict(info) if info else {}, TaskExecution.Phase.Name(resource.phase))
        if is_terminal_phase(resource.phase):
            return resource


async def _sleep(seconds: float) -> None:
    """Sleep in short slices, so that a signal ends a long wait at once."""
    end = clock().monotonic() + seconds
    while (left := end - clock().monotonic()) > 0:
        interrupts.check()
        await clock().asleep(min(left, INTERRUPT_CHECK_S))
    interrupts.check()
