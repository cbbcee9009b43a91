"""The exception a ChatGPTTask raises on purpose; API failures become a failed task, not an exception.

It extends the files package's `OpenAIBatchError` (one `except` catches every error of the plugins)
and `ValueError` (what upstream's ChatGPTTask raised for a config without a model).
"""

from __future__ import annotations

from flytekitplugins.openai.files.errors import OpenAIBatchError


class ChatGPTConfigError(OpenAIBatchError, ValueError):
    """A chatgpt_config (or a connector setting) that cannot make a chat completion request."""
