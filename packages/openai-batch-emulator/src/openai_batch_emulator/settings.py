"""The emulator's knobs. A batch copies them when it is created, so its timeline never changes under it."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field, fields
from typing import Any

# The key of `enqueued_token_limits` that applies to every model not named in it.
ANY_MODEL = "*"

# What a failure rule may do to a request besides failing it with an HTTP status: answer it, but write
# its result line cut in half, or as text that is not JSON.
CORRUPTIONS = ("truncated", "not_json")

# Model names the real API would recognise; anything else answers like an unknown model (HTTP 404).
DEFAULT_KNOWN_MODELS = (
    r"^(gpt-|chatgpt-|o[1-9]|text-embedding-|davinci|babbage|omni-moderation|text-moderation|"
    r"computer-use|codex-|gpt-image-|dall-e-|sora-|ft:)"
)


@dataclass(frozen=True)
class FailureRule:
    """Requests whose custom_id matches `custom_ids` (`re.search`) fail with HTTP `status` (400-599) or
    get a corrupt result line (a CORRUPTIONS name); with `attempts`, only on the first that many
    attempts of each custom_id, counted across batches."""

    custom_ids: str
    status: int | str = 500
    attempts: int | None = None

    @classmethod
    def parse(cls, value: Any) -> FailureRule:
        if isinstance(value, FailureRule):
            return value
        if not isinstance(value, dict) or not isinstance(value.get("custom_ids"), str):
            raise ValueError(
                f'a rule is an object like {{"custom_ids": "^retry-", "status": 429}}, got {value!r}'
            )
        unknown = set(value) - {"custom_ids", "status", "attempts"}
        if unknown:
            raise ValueError(
                f"unknown rule fields {', '.join(sorted(unknown))}; known: custom_ids, status, attempts"
            )
        rule = cls(**value)
        _regex("a rule's custom_ids", rule.custom_ids)
        status_ok = rule.status in CORRUPTIONS or (
            isinstance(rule.status, int) and not isinstance(rule.status, bool) and 400 <= rule.status <= 599
        )
        if not status_ok:
            raise ValueError(
                f"a rule's status is an HTTP status 400-599 or one of {CORRUPTIONS}, got {rule.status!r}"
            )
        if rule.attempts is not None and (
            isinstance(rule.attempts, bool) or not isinstance(rule.attempts, int) or rule.attempts < 1
        ):
            raise ValueError(f"a rule's attempts is a positive integer or null, got {rule.attempts!r}")
        return rule


@dataclass(frozen=True)
class Settings:
    """Speeds, limits and failure rules; every field can be changed at runtime (`Emulator.configure`)."""

    validating_seconds: float = 0.2
    # 0 holds a batch in_progress until it is cancelled or expires.
    requests_per_second: float = 1000.0
    finalizing_seconds: float = 0.2
    cancelling_seconds: float = 0.2
    completion_window_seconds: float = 24 * 3600.0
    fail_custom_ids: str | None = None
    fail_requests: tuple[FailureRule, ...] = ()
    known_models: str = DEFAULT_KNOWN_MODELS
    max_requests: int = 50_000
    max_input_bytes: int = 200 * 1024 * 1024
    max_embedding_inputs: int = 50_000
    max_upload_bytes: int = 512 * 1024 * 1024
    # Bytes per second of each upload and download (a slow link); 0: no limit.
    transfer_bytes_per_second: float = 0.0
    # Per model (or ANY_MODEL): the most prompt tokens its batches in flight may hold; none by default.
    enqueued_token_limits: dict[str, int] = field(default_factory=dict)

    def updated(self, **changes: Any) -> Settings:
        """A copy with `changes` applied; unknown names or wrong values raise ValueError naming the knob."""
        kinds = {f.name: f.type for f in fields(self)}
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in kinds:
                raise ValueError(f"unknown emulator setting {name!r}; known: {', '.join(sorted(kinds))}")
            try:
                clean[name] = _coerce(name, str(kinds[name]), value)
            except (TypeError, ValueError) as exc:
                message = str(exc)
                raise ValueError(message if name in message else f"setting {name!r}: {message}") from None
        return dataclasses.replace(self, **clean)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def failure_rules(self) -> list[tuple[str, FailureRule]]:
        """Every failure rule, in the order they are tried, with the setting that made it:
        `fail_requests`, then `fail_custom_ids` (HTTP 500 on every attempt)."""
        rules = [("fail_requests", rule) for rule in self.fail_requests]
        if self.fail_custom_ids is not None:
            rules.append(("fail_custom_ids", FailureRule(self.fail_custom_ids)))
        return rules

    def enqueued_token_limit(self, model: str) -> int | None:
        """The enqueued-token limit of `model`: its own, else the one for any model, else none."""
        limits = self.enqueued_token_limits
        return limits.get(model, limits.get(ANY_MODEL))


def _coerce(name: str, kind: str, value: Any) -> Any:
    if kind == "dict[str, int]":
        return _token_limits(name, value)
    if kind == "tuple[FailureRule, ...]":
        return _failure_rules(name, value)
    if isinstance(value, bool):
        raise ValueError(f"setting {name!r} must not be a boolean")
    if kind == "float":
        number = float(value)
        if number < 0:
            raise ValueError(f"setting {name!r} must be >= 0, got {value!r}")
        return number
    if kind == "int":
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"setting {name!r} must be an integer, got {value!r}")
        integer = int(value)
        if integer < 1:
            raise ValueError(f"setting {name!r} must be >= 1, got {value!r}")
        return integer
    if value is None or value == "":
        if kind == "str":
            raise ValueError(f"setting {name!r} needs a regular expression")
        return None
    return _regex(f"setting {name!r}", str(value))


def _regex(what: str, text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise ValueError(f"{what} is not a valid regular expression: {exc}") from None
    return text


def _json_text(name: str, value: Any, example: str) -> Any:
    """The command line and HTTP may give a structured setting as JSON text."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise ValueError(f"setting {name!r} must be JSON like {example}") from None


def _failure_rules(name: str, value: Any) -> tuple[FailureRule, ...]:
    if value is None or value == "":
        return ()
    value = _json_text(name, value, '[{"custom_ids": "^retry-", "status": 429, "attempts": 1}]')
    if not isinstance(value, list | tuple):
        raise ValueError(f"setting {name!r} must be a list of rules, got {value!r}")
    try:
        return tuple(FailureRule.parse(rule) for rule in value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"setting {name!r}: {exc}") from None


def _token_limits(name: str, value: Any) -> dict[str, int]:
    """{model: limit}, given as a mapping or its JSON text (the command line and HTTP give text)."""
    if value is None or value == "":
        return {}
    value = _json_text(name, value, '{"gpt-4o-mini": 2000000}')
    if not isinstance(value, dict):
        raise ValueError(f"setting {name!r} must be an object of model -> token limit, got {value!r}")
    limits: dict[str, int] = {}
    for model, limit in value.items():
        if not isinstance(model, str) or not model:
            raise ValueError(f"setting {name!r}: model names must be non-empty strings, got {model!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(
                f"setting {name!r}: the limit of {model!r} must be a positive integer, got {limit!r}"
            )
        limits[model] = limit
    return limits
