"""The exceptions of the batch task and its connector, as this package has always exported them.

They are defined in `flytekitplugins.openai.core.errors`, under the base `OpenAIBatchError` that
every error of the plugins shares.
"""

from flytekitplugins.openai.core.errors import (
    BaseURLNotAllowed,
    BatchAPIError,
    BatchConfigError,
    BatchFailed,
    MissingConnectorSecret,
    ResourceMetaError,
)

__all__ = [
    "BaseURLNotAllowed",
    "BatchAPIError",
    "BatchConfigError",
    "BatchFailed",
    "MissingConnectorSecret",
    "ResourceMetaError",
]
