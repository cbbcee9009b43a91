"""The exceptions of the batch task and its connector.

All but `BatchFailed` are the engine's (`openai_batch_jobs.errors`, under the base `OpenAIBatchError`);
`BatchFailed` is also flytekit's `FlyteUserException`, so flytekit counts a failed batch as the
user's failure (not retried as a system error).
"""

from flytekit.exceptions.user import FlyteUserException

from openai_batch_jobs.errors import (
    BaseURLNotAllowed,
    BatchAPIError,
    BatchConfigError,
    MissingConnectorSecret,
    OpenAIBatchError,
    ResourceMetaError,
)


class BatchFailed(OpenAIBatchError, FlyteUserException):
    """A local run's batch or job ended without results (failed, expired, cancelled): the connector's
    message, which names the batch and why."""


__all__ = [
    "BaseURLNotAllowed",
    "BatchAPIError",
    "BatchConfigError",
    "BatchFailed",
    "MissingConnectorSecret",
    "ResourceMetaError",
]
