"""Upload and download container tasks for the OpenAI Batch API, and a job's collect step.

- `upload`, `download`: the upload tasks (a file, or its batch-sized parts) and the one-batch download.
- `collect`: a job's parts joined into one output and one error file.
- `rounds`: a job's collect step as a dynamic task that adds a round only when requests are sent again.
- `job_task`: the job task's declaration, which the collect step declares for its next round.
- `outputs`: what the tasks return and what a round hands to the next (`result`), those and the job
  task's result as Flyte literals (`literals`), and the deck and the table in flytekit's types (`report`).
- `settings`: each task's template settings; `config`: the OpenAI file config; `images`: the default
  image; `errors`: the errors' names here; `_task`: what the container tasks share.

Importing this package is cheap: ``openai`` itself is loaded lazily, when a task first runs.
"""

from openai_batch_jobs.inputs.limits import PartLimits
from openai_batch_jobs.inputs.validation import validate_request_file

from .collect import CollectResultsExecutor, CollectResultsTask
from .config import OpenAIFileConfig
from .download import DownloadJSONFilesExecutor, DownloadJSONFilesTask
from .errors import (
    BatchResultError,
    InvalidRequestFile,
    MissingSecret,
    OpenAIBatchError,
    TransferError,
)
from .images import OpenAIFileDefaultImages
from .job_task import JobTaskDeclaration
from .outputs.result import BatchResult, RoundState
from .rounds import JobRoundTask
from .upload import UploadJSONLFileExecutor, UploadJSONLFileTask, UploadPartsExecutor, UploadPartsTask

__all__ = [
    "BatchResult",
    "BatchResultError",
    "CollectResultsExecutor",
    "CollectResultsTask",
    "DownloadJSONFilesExecutor",
    "DownloadJSONFilesTask",
    "InvalidRequestFile",
    "JobRoundTask",
    "JobTaskDeclaration",
    "MissingSecret",
    "OpenAIBatchError",
    "OpenAIFileConfig",
    "OpenAIFileDefaultImages",
    "PartLimits",
    "RoundState",
    "TransferError",
    "UploadJSONLFileExecutor",
    "UploadJSONLFileTask",
    "UploadPartsExecutor",
    "UploadPartsTask",
    "validate_request_file",
]
