"""Upload and download container tasks for the OpenAI Batch API.

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
from .result import BatchResult
from .upload import UploadJSONLFileExecutor, UploadJSONLFileTask, UploadPartsExecutor, UploadPartsTask

__all__ = [
    "BatchResult",
    "BatchResultError",
    "CollectResultsExecutor",
    "CollectResultsTask",
    "DownloadJSONFilesExecutor",
    "DownloadJSONFilesTask",
    "InvalidRequestFile",
    "MissingSecret",
    "OpenAIBatchError",
    "OpenAIFileConfig",
    "OpenAIFileDefaultImages",
    "PartLimits",
    "TransferError",
    "UploadJSONLFileExecutor",
    "UploadJSONLFileTask",
    "UploadPartsExecutor",
    "UploadPartsTask",
    "validate_request_file",
]
