"""The FlytePropeller side of `bench_connector_load.py`: CreateTask for every task, then GetTask for each
task every `cadence` seconds until it ends, over one grpc.aio channel from one event loop.

A heap of due times (one entry per task) is the scheduler: each task's first poll falls at a random
point of the first cadence after its CreateTask, so the calls spread evenly over the cadence; a task
is polled again a cadence after its previous due time, never while its previous call is still out
(propeller does not overlap the calls of one task). At most `concurrency` calls are out at once; how
late a call starts against its due time is measured, so a driver that falls behind shows.

Latencies go into a log-bucketed histogram (1% wide buckets): memory does not grow with the calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
from flyteidl.admin import agent_pb2
from flyteidl.core.execution_pb2 import TaskExecution
from flyteidl.service import agent_pb2_grpc

TERMINAL = {
    TaskExecution.SUCCEEDED,
    TaskExecution.FAILED,
    TaskExecution.RETRYABLE_FAILED,
    TaskExecution.ABORTED,
}
# Propeller retries a CreateTask that failed; the benchmark does too, this many times, this far apart.
CREATE_ATTEMPTS = 3
CREATE_RETRY_S = 1.0
CREATE_TIMEOUT_S = 30.0


class Histogram:
    """Durations in buckets 1% wide from 10 us: quantiles within 1%, memory bounded by the range."""

    BASE = 1e-5
    GROWTH = math.log(1.01)

    def __init__(self) -> None:
        self.buckets: Counter[int] = Counter()
        self.count = 0

    def add(self, seconds: float) -> None:
        self.buckets[max(0, int(math.log(max(seconds, self.BASE) / self.BASE) / self.GROWTH))] += 1
        self.count += 1

    def quantile(self, q: float) -> float | None:
        """The upper edge of the bucket holding the q-quantile; None without samples."""
        if not self.count:
            return None
        rank, seen = q * self.count, 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= rank:
                return self.BASE * math.exp((bucket + 1) * self.GROWTH)
        return None


def ms(seconds: float | None) -> str:
    """Seconds as milliseconds to print."""
    return "-" if seconds is None else f"{1000 * seconds:.1f}" if seconds < 0.1 else f"{1000 * seconds:.0f}"


def p50_p99(histogram: Histogram | None) -> str:
    if histogram is None:
        return "-"
    return f"{ms(histogram.quantile(0.5))} / {ms(histogram.quantile(0.99))}"


@dataclass
class Calls:
    """The GetTask calls of one stretch of the drive (the ramp, the measured window, the drain)."""

    latency: Histogram = field(default_factory=Histogram)
    by_type: dict[str, Histogram] = field(default_factory=dict)
    start_lag: Histogram = field(default_factory=Histogram)
    past_deadline: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    first_error: str = ""

    @property
    def answered(self) -> int:
        return self.latency.count

    @property
    def made(self) -> int:
        return self.latency.count + self.past_deadline + sum(self.errors.values())


@dataclass
class DrivenTask:
    """One task execution as propeller knows it: what to send and what came back."""

    name: str
    task_type: str
    request: agent_pb2.CreateTaskRequest
    file_ids: list[str]
    meta: bytes = b""
    phase: int = TaskExecution.UNDEFINED
    message: str = ""
    due: float = 0.0

    @property
    def done(self) -> bool:
        return self.phase in TERMINAL


class Driver:
    """Creates and polls `tasks` through `channel`; `calls` is swapped by the caller between stretches."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        tasks: list[DrivenTask],
        cadence: float,
        deadline: float,
        concurrency: int,
    ) -> None:
        self.stub = agent_pb2_grpc.AsyncAgentServiceStub(channel)
        self.tasks = tasks
        self.cadence = cadence
        self.deadline = deadline
        self.slots = asyncio.Semaphore(concurrency)
        self.calls = Calls()
        self.create_latency = Histogram()
        self.create_failures: Counter[str] = Counter()
        self.first_create_error = ""
        self.created = 0
        self._heap: list[tuple[float, int, DrivenTask]] = []
        self._wake = asyncio.Event()
        self.all_ended = asyncio.Event()
        self._ended_count = 0
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def finished(self) -> int:
        return self._ended_count

    async def create_all(self, concurrency: int, progress: Callable[[int], None]) -> None:
        """CreateTask for every task, `concurrency` at once; each created task starts being polled."""
        gate = asyncio.Semaphore(concurrency)

        async def create(task: DrivenTask) -> None:
            async with gate:
                await self._create(task)
            progress(self.created)

        await asyncio.gather(*(create(task) for task in self.tasks))

    async def _create(self, task: DrivenTask) -> None:
        for attempt in range(CREATE_ATTEMPTS):
            started = time.monotonic()
            try:
                reply = await self.stub.CreateTask(task.request, timeout=CREATE_TIMEOUT_S)
            except grpc.aio.AioRpcError as exc:
                self.create_failures[exc.code().name] += 1
                self.first_create_error = self.first_create_error or f"{exc.code().name}: {exc.details()}"
                if attempt + 1 < CREATE_ATTEMPTS:
                    await asyncio.sleep(CREATE_RETRY_S)
                continue
            self.create_latency.add(time.monotonic() - started)
            task.meta = bytes(reply.resource_meta)
            self.created += 1
            self._schedule(task, time.monotonic() + random.uniform(0, self.cadence))
            return
        task.phase = TaskExecution.FAILED
        task.message = f"CreateTask failed {CREATE_ATTEMPTS} times: {self.first_create_error}"
        self._ended()

    def _schedule(self, task: DrivenTask, due: float) -> None:
        task.due = due
        heapq.heappush(self._heap, (due, id(task), task))
        self._wake.set()

    async def run_polls(self) -> None:
        """The scheduler: start each due poll; runs until cancelled."""
        while True:
            now = time.monotonic()
            while self._heap and self._heap[0][0] <= now:
                _, _, task = heapq.heappop(self._heap)
                await self.slots.acquire()
                started = asyncio.create_task(self._poll(task))
                self._pending.add(started)
                started.add_done_callback(self._pending.discard)
            self._wake.clear()
            wait = self._heap[0][0] - time.monotonic() if self._heap else 1.0
            if wait > 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def _poll(self, task: DrivenTask) -> None:
        calls = self.calls
        started = time.monotonic()
        calls.start_lag.add(max(0.0, started - task.due))
        request = agent_pb2.GetTaskRequest(
            task_type=task.task_type,
            task_category=agent_pb2.TaskCategory(name=task.task_type, version=0),
            resource_meta=task.meta,
        )
        try:
            reply = await self.stub.GetTask(request, timeout=self.deadline)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                calls.past_deadline += 1
            else:
                calls.errors[exc.code().name] += 1
                calls.first_error = calls.first_error or f"{exc.code().name}: {exc.details()}"
        else:
            elapsed = time.monotonic() - started
            calls.latency.add(elapsed)
            calls.by_type.setdefault(task.task_type, Histogram()).add(elapsed)
            task.phase, task.message = reply.resource.phase, reply.resource.message
        finally:
            self.slots.release()
        if task.done:
            self._ended()
        else:
            self._schedule(task, max(task.due + self.cadence, time.monotonic()))

    def _ended(self) -> None:
        self._ended_count += 1
        if self._ended_count == len(self.tasks):
            self.all_ended.set()

    async def until_all_ended(self, timeout: float) -> None:
        """Return when every task has ended, or after `timeout` seconds."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.all_ended.wait(), timeout)

    async def cancel_polls(self) -> None:
        for pending in list(self._pending):
            pending.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
