"""The job task's settings, as the connector and its resource meta read them.

They live in the engine (`openai_batch_jobs.job.task_settings`): the files image declares the job
task too (a collect step that adds a round), without this package.
"""

from openai_batch_jobs.job.task_settings import (
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
