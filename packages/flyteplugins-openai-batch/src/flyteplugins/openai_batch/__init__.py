"""OpenAI Batch API jobs on Flyte 2, on the same engine (`openai_batch_jobs`) as the flytekit plugins.

- `job`: `OpenAIBatch`, a whole job of any size run from a Flyte 2 task, and its `BatchResults`.
- `task`: the connector tasks: `OpenAIBatchTask` (one batch, task type `openai_batch`) and
  `OpenAIBatchJobTask` (a round's batches, `openai_batch_job`), with a local executor that polls at
  its own cadence and cancels on Ctrl-C / SIGTERM.
- `connector`: `OpenAIBatchConnector`, one batch; `job_connector`: `OpenAIBatchJobConnector`, the
  engine's job runner. Both served by flyte's connector server (`c0`).
- `_inputs`: a File, JsonlFile, path or async iterator of dicts as one local request file.
- `_local`: a local run's leftovers, cancelled and deleted when it is interrupted.
- `_settings`: what the tasks' templates carry.
"""

from .connector import OpenAIBatchConnector, OpenAIBatchMetadata
from .job import BatchResults, OpenAIBatch
from .job_connector import OpenAIBatchJobConnector, OpenAIBatchJobMetadata
from .task import OpenAIBatchJobTask, OpenAIBatchTask

__all__ = [
    "BatchResults",
    "OpenAIBatch",
    "OpenAIBatchConnector",
    "OpenAIBatchJobConnector",
    "OpenAIBatchJobMetadata",
    "OpenAIBatchJobTask",
    "OpenAIBatchMetadata",
    "OpenAIBatchTask",
]
