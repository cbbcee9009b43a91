"""The settings a BatchJobTask writes into its template (kept in the engine, which knows no Flyte)."""

from openai_batch_jobs.job.settings import (
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_TOKEN_LIMIT_ATTEMPTS,
    DEFAULT_TOKEN_LIMIT_WAIT_S,
    JOB_TASK_TYPE,
    JobTaskSettings,
)

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_TOKEN_LIMIT_ATTEMPTS",
    "DEFAULT_TOKEN_LIMIT_WAIT_S",
    "JOB_TASK_TYPE",
    "JobTaskSettings",
]
