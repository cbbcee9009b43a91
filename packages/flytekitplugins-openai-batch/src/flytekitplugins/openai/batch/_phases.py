"""The engine's outcomes as Flyte task phases: the one map from one to the other."""

from __future__ import annotations

from flyteidl.core.execution_pb2 import TaskExecution

from openai_batch_jobs.job.status import Outcome

PHASES = {
    Outcome.RUNNING: TaskExecution.RUNNING,
    Outcome.SUCCEEDED: TaskExecution.SUCCEEDED,
    Outcome.RETRYABLE_FAILED: TaskExecution.RETRYABLE_FAILED,
    Outcome.FAILED: TaskExecution.FAILED,
}


def phase_of(outcome: Outcome) -> int:
    """Flyte's task phase for an engine outcome."""
    return PHASES[outcome]
