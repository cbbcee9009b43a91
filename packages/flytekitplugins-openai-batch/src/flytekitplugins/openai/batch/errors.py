"""The exceptions the batch task and its connector raise on purpose.

They extend the files package's `OpenAIBatchError`, so one `except` catches every error of the plugins.
Messages never carry the API key: the connector service puts a failure's whole traceback into the
gRPC error that FlytePropeller logs and shows.
"""

from __future__ import annotations

from flytekitplugins.openai.files.errors import OpenAIBatchError


class BatchConfigError(OpenAIBatchError, ValueError):
    """A BatchEndpointTask config that the Batch API would reject."""


class ResourceMetaError(OpenAIBatchError, ValueError):
    """Resource meta bytes that this connector did not write."""


class MissingConnectorSecret(OpenAIBatchError):
    """The connector has no OpenAI API key."""

    def __init__(self, name: str, env_var: str, file_path: str) -> None:
        self.name = name
        super().__init__(
            f"The connector's OpenAI API key secret {name} is not set: give the connector the environment "
            f"variable {env_var} (or {name}), or mount the secret as the file {file_path}."
        )


class BaseURLNotAllowed(OpenAIBatchError, ValueError):
    """A task asked the connector to send its API key to a server the connector does not trust."""


class BatchAPIError(OpenAIBatchError):
    """The Batch API refused or failed a request; the message says which and why, without the key."""
