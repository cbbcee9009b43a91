"""Reading a task template's `custom`: the base of every task's typed settings.

A template's `custom` is a dict that another plugin version (or another client) may have written,
and that travelled as a protobuf Struct (every number a float). Each task's settings dataclass
writes it with `to_custom` and reads it with `from_custom` through a `CustomReader`, so a missing,
unknown or mistyped key fails with a `TaskTemplateError` naming the task and the key, not a KeyError.

`env_seconds` reads a bound in seconds from an environment variable, with the same error for every one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from openai_batch_jobs.errors import OpenAIBatchError, TaskTemplateError


class CustomReader:
    """The keys of one template's `custom`, checked against those its settings know."""

    def __init__(
        self,
        custom: Mapping[str, Any] | None,
        *,
        task: str,
        required: Iterable[str] = (),
        optional: Iterable[str] = (),
    ) -> None:
        self.task = task
        if custom is None:
            custom = {}
        if not isinstance(custom, Mapping):
            raise self.error(f"its custom must be a dict, got {type(custom).__name__}")
        self.custom = custom
        required, optional = tuple(required), tuple(optional)
        missing = [k for k in required if k not in custom]
        if missing:
            raise self.error(f"its custom lacks {_keys(missing)}")
        unknown = sorted(str(k) for k in custom if k not in required and k not in optional)
        if unknown:
            known = _keys(sorted((*required, *optional)))
            raise self.error(f"its custom has unknown {_keys(unknown)} (this plugin version knows {known})")

    def error(self, problem: str) -> TaskTemplateError:
        return TaskTemplateError(
            f"The template of {self.task} cannot be read: {problem}. Was it serialized by another "
            "version of flytekitplugins-openai? Register it again with the version that runs it."
        )

    def value(self, key: str, default: Any = None) -> Any:
        return self.custom.get(key, default)

    def optional_str(self, key: str) -> str | None:
        value = self.custom.get(key)
        if value is not None and not isinstance(value, str):
            raise self.error(f"{key!r} must be a string, got {type(value).__name__}")
        return value or None

    def integer(self, key: str, default: int) -> int:
        value = self.custom.get(key, default)
        # A protobuf Struct carries every number as a float.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"{key!r} must be a whole number, got {value!r}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.custom.get(key, default)
        if not isinstance(value, bool):
            raise self.error(f"{key!r} must be true or false, got {value!r}")
        return value

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self.custom.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(f"{key!r} must be a dict, got {type(value).__name__}")
        return value


def env_seconds(name: str, default: float, error: type[OpenAIBatchError]) -> float:
    """The positive number of seconds in the environment variable ``name``, else ``default``; another
    value raises ``error`` naming the variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise error(f"{name} must be a positive number of seconds, got {raw!r}.")
    return seconds


def task_label(task_type: str, name: str | None) -> str:
    """How errors name a task: its type and, when known, its name."""
    return f"{task_type} task {name!r}" if name else f"an {task_type} task"


def _keys(keys: Iterable[str]) -> str:
    keys = list(keys)
    return ("key " if len(keys) == 1 else "keys ") + ", ".join(repr(k) for k in keys)
