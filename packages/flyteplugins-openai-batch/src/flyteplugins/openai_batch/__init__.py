"""OpenAI Batch API jobs on Flyte 2, on the same engine (`openai_batch_jobs`) as the flytekit plugins.

- `job`: `OpenAIBatch`, a whole job of any size run from a Flyte 2 task, and its `BatchResults`.
- `task`: `OpenAIBatchTask`, one batch as a connector task (task type `openai_batch`), with a local
  executor that polls at its own cadence and cancels on Ctrl-C / SIGTERM.
- `connector`: `OpenAIBatchConnector`, served by flyte's connector server (`c0`).
- `_parts`: a round's parts as connector tasks, in-flight limit and token-limit waits.
- `_inputs`: a File, JsonlFile, path or async iterator of dicts as one local request file.
- `_local`: a local run's leftovers, cancelled and deleted when it is interrupted.
- `_settings`: what the task template carries.
"""

from .connector import OpenAIBatchConnector, OpenAIBatchMetadata
from .job import BatchResults, OpenAIBatch
from .task import OpenAIBatchTask

__all__ = ["BatchResults", "OpenAIBatch", "OpenAIBatchConnector", "OpenAIBatchMetadata", "OpenAIBatchTask"]
