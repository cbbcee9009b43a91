"""How our async tasks run locally (`pyflyte run`, or calling the task in Python): one shared place.

flytekit's local executor calls the connector's create, then its get in a loop (the mixin's `_get`),
showing a rich progress display, and on Ctrl-C runs the task's signal handler. For our tasks:

- the wait polls on `local_poll`'s schedule (soon, then backing off) and prints a one-line status
  (`progress.ProgressLine`) that also reads well in a log; a run that ends without results raises
  `BatchFailed`, which pyflyte prints as one paragraph;
- Ctrl-C, SIGTERM and SIGHUP cancel what the run created on the server (the batch, or every batch of
  a job, whose input files are then deleted) before the run exits, each within the connector's bounded cancel, and say so on stderr.
  flytekit routes only SIGINT; during the run SIGTERM and SIGHUP are routed the same way.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from flyteidl.core.execution_pb2 import TaskExecution

from ._compat import AsyncExecutorMixin, Resource, ResourceMeta, lookup_connector
from .errors import BatchFailed
from .local_poll import poll_until_done

# Signals that end a local run the way Ctrl-C does (SIGHUP does not exist on Windows).
TERMINATING_SIGNALS = tuple(s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None)


class LocalRunMixin(AsyncExecutorMixin):
    """Local runs of BatchEndpointTask and BatchJobTask: the status line, and cancelling on signals."""

    _TASK_TYPE: str
    _clean_up_task: bool

    def execute(self, **kwargs: Any) -> Any:
        restore = _route_terminating_signals()
        try:
            return super().execute(**kwargs)
        finally:
            restore()
            # flytekit keeps signal handlers for the life of the process; this run's work is done.
            meta = getattr(self, "resource_meta", None)
            if meta is not None:
                self._finished_runs().add(meta.encode())

    async def _get(self, resource_meta: ResourceMeta) -> Resource:
        """flytekit's local wait, on `local_poll`'s schedule and with our status line.

        A run that ends without results raises BatchFailed with the connector's full account (its
        `custom_info["message"]` where the message is upstream's short one, else the message):
        flytekit's own FlyteUserException would print as ``USER:Unknown: error=...`` under a traceback.
        """
        resource = await poll_until_done(
            self.name, lookup_connector(self._TASK_TYPE), resource_meta, lambda: self._clean_up_task
        )
        if resource.phase != TaskExecution.SUCCEEDED:
            account = (resource.custom_info or {}).get("message") or resource.message
            raise BatchFailed(f"{self.name}: {account}")
        return resource

    def agent_signal_handler(self, resource_meta: ResourceMeta, signum: int, frame: FrameType | None) -> Any:
        """A signal in a local run (flytekit 1.15): cancel on the server before exiting."""
        self._cancel_after_signal(resource_meta, signum)

    def connector_signal_handler(
        self, resource_meta: ResourceMeta, signum: int, frame: FrameType | None
    ) -> Any:
        """A signal in a local run (flytekit 1.16+): cancel on the server before exiting."""
        self._cancel_after_signal(resource_meta, signum)

    def _cancel_after_signal(self, resource_meta: ResourceMeta, signum: int) -> None:
        # flytekit's own handler calls asyncio.run() inside the running local event loop, which fails;
        # the connectors' `cancel` is `delete` without an event loop, so it runs right here.
        if resource_meta.encode() not in self._finished_runs():
            name = _signal_name(signum)
            print(f"{name}: cancelling what this run started on the server...", file=sys.stderr, flush=True)
            try:
                cancelled = lookup_connector(self._TASK_TYPE).cancel(resource_meta)
                print(cancelled.text(), file=sys.stderr, flush=True)
            except Exception as exc:
                print(f"Could not cancel: {exc}", file=sys.stderr, flush=True)
        self._clean_up_task = True

    def _finished_runs(self) -> set[bytes]:
        finished: set[bytes] | None = self.__dict__.get("_finished_metas")
        if finished is None:
            finished = self.__dict__["_finished_metas"] = set()
        return finished


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _route_terminating_signals() -> Callable[[], None]:
    """Route SIGTERM and SIGHUP to flytekit's SIGINT handler for the run; returns what undoes it.

    Only where flytekit installed its handler (the main thread) and only over the default handlers:
    a handler the program set itself is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    handler = signal.getsignal(signal.SIGINT)
    if not callable(handler) or handler is signal.default_int_handler:
        return lambda: None
    replaced = {}
    for sig in TERMINATING_SIGNALS:
        if signal.getsignal(sig) in (signal.SIG_DFL, None):
            replaced[sig] = signal.signal(sig, handler)

    def restore() -> None:
        for sig, previous in replaced.items():
            signal.signal(sig, previous)

    return restore
