"""The exceptions of the file tasks, as this package has always exported them (defined in `core.errors`)."""

from openai_batch_jobs.errors import (
    BatchResultError,
    InvalidRequestFile,
    MissingSecret,
    OpenAIBatchError,
    TransferError,
)

__all__ = ["BatchResultError", "InvalidRequestFile", "MissingSecret", "OpenAIBatchError", "TransferError"]
