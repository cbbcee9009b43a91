"""How our async tasks run locally (`pyflyte run`, or calling the task in Python): one shared place.

flytekit's local executor calls the connector's create, then its get in a loop (the mixin's `_get`),
showing a rich progress display, and on Ctrl-C runs the task's signal handler. For our tasks:

- the wait polls on `local.poll`'s schedule (soon, then backing off) and prints a one-line status
  (`progress.ProgressLine`) that also reads well in a log; a run that ends without results raises
  `BatchFailed`, which pyflyte prints as one paragraph;
- SIGINT, SIGTERM and SIGHUP end the run through the engine's `interrupts` (the workflow's run, or
  this task's when it runs alone): the wait stops, what the run created on the server (the batch, or
  every batch of a job, whose input files are then deleted) is cancelled within the connector's
  bounded cancel, and the run exits with one message and the shell's status for the signal.
  flytekit's own handler (which would call `asyncio.run` inside the running loop) is not installed
  meanwhile.
"""

from __future__ import annotations

from types import FrameType
from typing import Any

from flyteidl.core.execution_pb2 import TaskExecution

from openai_batch_jobs import interrupts

from .._compat import AsyncExecutorMixin, Resource, ResourceMeta, lookup_connector
from ..errors import BatchFailed
from .poll import poll_until_done


class LocalRunMixin(AsyncExecutorMixin):
    """Local runs of BatchEndpointTask and BatchJobTask: the status line, and cancelling on signals."""

    _TASK_TYPE: str

    def execute(self, **kwargs: Any) -> Any:
        with interrupts.ending_on_signals(self.name):
            interrupts.set_phase(f"the batches ({self.name})")
            self.resource_meta = None
            try:
                return super().execute(**kwargs)
            except KeyboardInterrupt:
                self._cancel_after_signal()
                raise

    async def _create(self, *args: Any, **kwargs: Any) -> ResourceMeta:
        """flytekit's local create, which a signal does not cut short: what it created is known, and
        cancelled, when the signal ends the run right after it."""
        with interrupts.patience():
            meta: ResourceMeta = await super()._create(*args, **kwargs)
            self.resource_meta = meta
        interrupts.check()
        return meta

    async def _get(self, resource_meta: ResourceMeta) -> Resource:
        """flytekit's local wait, on `local.poll`'s schedule and with our status line.

        A run that ends without results raises BatchFailed with the connector's full account (its
        `custom_info["message"]` where the message is upstream's short one, else the message):
        flytekit's own FlyteUserException would print as ``USER:Unknown: error=...`` under a traceback.
        """
        resource = await poll_until_done(self.name, lookup_connector(self._TASK_TYPE), resource_meta)
        if resource.phase != TaskExecution.SUCCEEDED:
            account = (resource.custom_info or {}).get("message") or resource.message
            kept = self._keep_answers(resource_meta, resource)
            raise BatchFailed(f"{self.name}: {account}" + (f" {kept}" if kept else ""))
        return resource

    def _keep_answers(self, resource_meta: ResourceMeta, resource: Resource) -> str:
        """What a run that ended without every request answered did with the answers it has."""
        return ""

    def agent_signal_handler(self, resource_meta: ResourceMeta, signum: int, frame: FrameType | None) -> Any:
        """flytekit 1.15's handler: nothing to do, `interrupts` ends our runs (see the module's docstring)."""

    def connector_signal_handler(
        self, resource_meta: ResourceMeta, signum: int, frame: FrameType | None
    ) -> Any:
        """flytekit 1.16's handler: nothing to do, `interrupts` ends our runs (see the module's docstring)."""

    def _cancel_after_signal(self) -> None:
        """Cancel what this run created on the server (nothing before the create); the ending
        message says what was cancelled."""
        meta = self.resource_meta
        if meta is None:
            return
        try:
            cancelled = lookup_connector(self._TASK_TYPE).cancel(meta)
        except Exception as exc:
            interrupts.note(f"Could not cancel {self.name}'s batches: {exc}")
            return
        interrupts.note_cancelled(cancelled.batch_ids)
