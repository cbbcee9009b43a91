"""The `chatgpt_config` of a ChatGPTTask: `chat.completions.create` arguments, checked early.

The task checks it where it is defined and the connector again (templates can come from other
clients), against the parameters of the installed SDK's `chat.completions.create`, so a misspelt key
fails before a request is sent. `messages` given here go before the task's `message`.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from functools import cache
from typing import Any

from openai_batch_jobs.api._sdk import openai
from openai_batch_jobs.errors import ChatGPTConfigError

TASK_TYPE = "chatgpt"


def parse_chatgpt_config(config: Any, task_name: str | None = None) -> dict[str, Any]:
    """A copy of `config` ready for `chat.completions.create`; ChatGPTConfigError names a bad field."""
    where = f"chatgpt_config of ChatGPTTask {task_name!r}" if task_name else "ChatGPTTask chatgpt_config"
    if not isinstance(config, Mapping):
        raise ChatGPTConfigError(f"The {where} must be a dict, got {type(config).__name__}.")
    model = config.get("model")
    if not isinstance(model, str) or not model:
        raise ChatGPTConfigError(
            f"The 'model' configuration variable is required in the {where} (a model name such as "
            f"'gpt-4o-mini'), got {model!r}."
        )
    unknown = sorted(str(key) for key in config if key not in sdk_parameters())
    if unknown:
        raise ChatGPTConfigError(
            f"Unknown key(s) in the {where}: {', '.join(unknown)}; the installed openai SDK's "
            "chat.completions.create takes no such argument (send fields it does not know in 'extra_body')."
        )
    if config.get("stream"):
        raise ChatGPTConfigError(f"stream in the {where} is not supported: the task returns one answer.")
    if config.get("n", 1) != 1:
        raise ChatGPTConfigError(
            f"n in the {where} must be 1: the task returns one answer, and more would be billed and lost."
        )
    messages = config.get("messages", [])
    if not isinstance(messages, list) or not all(isinstance(m, Mapping) and "role" in m for m in messages):
        raise ChatGPTConfigError(
            f"messages in the {where} must be a list of messages with a 'role' (they are sent before "
            f"the task's message), got {messages!r}."
        )
    parsed: dict[str, Any] = _from_struct(dict(config))
    return parsed


@cache
def sdk_parameters() -> frozenset[str]:
    """The keyword arguments of the installed SDK's `chat.completions.create`."""
    parameters = inspect.signature(openai.resources.chat.Completions.create).parameters
    return frozenset(name for name in parameters if name != "self")


def _from_struct(value: Any) -> Any:
    """Undo what a task template's protobuf Struct did to numbers: every one became a float, and the
    API refuses `max_tokens: 100.0`. A whole float means the same number as an int to the API."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {key: _from_struct(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_struct(item) for item in value]
    return value
