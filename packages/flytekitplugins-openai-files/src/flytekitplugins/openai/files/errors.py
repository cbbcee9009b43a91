"""The exceptions of the file tasks, under the names this package exports (defined in the engine's
`openai_batch_jobs.errors`)."""

from openai_batch_jobs.errors import (
    BatchResultError,
    InvalidRequestFile,
    MissingSecret,
    OpenAIBatchError,
    TransferError,
)

__all__ = ["BatchResultError", "InvalidRequestFile", "MissingSecret", "OpenAIBatchError", "TransferError"]
