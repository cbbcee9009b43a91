"""Every exception the OpenAI Batch plugins raise on purpose.

One base class lets callers catch everything the plugins mean to raise, while the subclasses say
which kind of problem it was. Messages never carry the API key: the connector service puts a
failure's whole traceback into the gRPC error that FlytePropeller logs and shows.

Each message is one paragraph (what failed, why, what to do), and the base class is a
`click.ClickException`: `pyflyte run` prints such an error as ``Error: <message>``, without the
traceback and the ``USER:Unknown: error=`` prefixes it puts around other exceptions.
"""

from __future__ import annotations

from collections.abc import Sequence

import click


class OpenAIBatchError(click.ClickException):
    """Base class of every error raised on purpose by the OpenAI Batch plugins.

    ``str(error)`` is the message alone; ``error.message`` is the same text.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)


class MissingSecret(OpenAIBatchError):
    """The Flyte secret that should hold the OpenAI API key is not available to the task.

    ``env_vars`` and ``file_path`` are where a local run reads it: flytekit's SecretsManager names
    for the secret (``<GROUP>_<KEY>`` and ``_FSEC_<GROUP>_<KEY>``, then a file in its secrets directory).
    """

    def __init__(
        self,
        group: str | None,
        key: str | None,
        group_version: str | None = None,
        env_vars: Sequence[str] = (),
        file_path: str | None = None,
    ) -> None:
        self.group = group
        self.key = key
        self.group_version = group_version
        self.env_vars = list(env_vars)
        self.file_path = file_path
        version = f", group_version={group_version!r}" if group_version else ""
        local = ""
        if self.env_vars:
            places = " or ".join(self.env_vars) + (f", or the file {file_path}" if file_path else "")
            local = f" A local run reads it from the environment variable {places}: set {self.env_vars[0]}."
        super().__init__(
            f"The OpenAI API key secret (group={group!r}, key={key!r}{version}) is not available.{local} "
            "On a cluster, request it on the task (OpenAIFileConfig.secret) and make sure it exists in the "
            "secret store."
        )


class InvalidRequestFile(OpenAIBatchError, ValueError):
    """A Batch request file that OpenAI would reject; raised before anything is uploaded."""

    # How many problems the message lists; the rest are only counted.
    SHOWN = 20

    def __init__(self, path: str, problems: Sequence[str], total: int | None = None) -> None:
        self.path = path
        self.problems = list(problems)
        self.total = total if total is not None else len(self.problems)
        shown = self.problems[: self.SHOWN]
        problems_text = "1 problem" if self.total == 1 else f"{self.total:,} problems"
        lines = [f"Invalid OpenAI Batch request file {path}: {problems_text}; nothing was uploaded."]
        lines += [f"  - {p}" for p in shown]
        if self.total > len(shown):
            lines.append(f"  ... and {self.total - len(shown)} more")
        super().__init__("\n".join(lines))


class TransferError(OpenAIBatchError):
    """An upload or download kept failing after every retry allowed."""


class BatchResultError(OpenAIBatchError):
    """A finished batch whose results cannot be used (no files, or requests missing from both files)."""


class TaskTemplateError(OpenAIBatchError, ValueError):
    """A task template whose `custom` this plugin version cannot read (a key missing, unknown or mistyped)."""


class BatchConfigError(OpenAIBatchError, ValueError):
    """A BatchEndpointTask config that the Batch API would reject."""


class ChatGPTConfigError(OpenAIBatchError, ValueError):
    """A chatgpt_config (or a connector setting) that cannot make a chat completion request; a
    ValueError too, as upstream's ChatGPTTask raised for a config without a model."""


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


class ServerUnreachable(OpenAIBatchError):
    """The API's server gave no answer at all (connection refused, timed out, no such host)."""


class BatchAPIError(OpenAIBatchError):
    """The Batch API refused or failed a request; the message says which and why, without the key."""
