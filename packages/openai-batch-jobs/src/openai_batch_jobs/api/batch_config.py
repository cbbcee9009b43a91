"""The `config` of a BatchEndpointTask: which `batches.create` arguments it may carry, checked early.

A wrong key or value should fail where the task is defined, not hours later in the connector, so the
task validates at definition time and the connector validates again (templates can come from other
clients). Limits are the Batch API's own, from `openai_batch_jobs.api.batch_api`.
Besides the API's arguments, the SDK's per-call options that upstream's plugin let through
(`extra_headers`, `extra_query`, `extra_body`, `timeout`) are accepted, checked for shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from openai_batch_jobs.api.batch_api import (
    BATCH_ENDPOINTS,
    COMPLETION_WINDOWS,
    MAX_METADATA_KEY_CHARS,
    MAX_METADATA_PAIRS,
    MAX_METADATA_VALUE_CHARS,
    MAX_OUTPUT_EXPIRY_SECONDS,
    MIN_OUTPUT_EXPIRY_SECONDS,
)
from openai_batch_jobs.errors import BatchConfigError

TASK_TYPE = "openai-batch"

DEFAULT_COMPLETION_WINDOW = "24h"
DEFAULT_ENDPOINT = "/v1/chat/completions"

API_KEYS = ("completion_window", "endpoint", "metadata", "output_expires_after")
# The SDK's per-call options (every `batches.create` of the SDK takes them).
REQUEST_OPTION_KEYS = ("extra_headers", "extra_query", "extra_body", "timeout")
ALLOWED_KEYS = API_KEYS + REQUEST_OPTION_KEYS
# A key in a task template is readable by everyone who can read the task: credentials go in secrets.
CREDENTIAL_HEADERS = frozenset({"authorization", "api-key"})

# The connector tags each batch with the Flyte task execution that created it (see connector.py).
EXECUTION_METADATA_KEY = "flyte_task_execution"


def check_base_url(base_url: object, task: str, error: type[Exception] = BatchConfigError) -> None:
    """A task's `base_url`, when given, must name an http(s) API: checked where the task is defined.

    ``task`` names the task in the message (e.g. "BatchJobTask 'x'"); ``error`` is the task's error type.
    """
    if base_url is not None and not (
        isinstance(base_url, str) and urlsplit(base_url).scheme in ("http", "https")
    ):
        raise error(f"base_url of {task} must be an http(s) URL, got {base_url!r}.")


@dataclass(frozen=True)
class BatchConfig:
    """A validated config, with the Batch API's defaults filled in."""

    completion_window: str = DEFAULT_COMPLETION_WINDOW
    endpoint: str = DEFAULT_ENDPOINT
    metadata: dict[str, str] = field(default_factory=dict)
    output_expires_after: dict[str, Any] | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)
    extra_query: dict[str, Any] = field(default_factory=dict)
    extra_body: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None

    @classmethod
    def parse(cls, config: Any, task_name: str | None = None) -> BatchConfig:
        """Check `config` and return it with defaults; raise BatchConfigError naming the bad field."""
        where = f"config of BatchEndpointTask {task_name!r}" if task_name else "BatchEndpointTask config"
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            raise BatchConfigError(f"The {where} must be a dict, got {type(config).__name__}.")
        unknown = sorted(str(k) for k in config if k not in ALLOWED_KEYS)
        if unknown:
            hint = ""
            if "input_file_id" in unknown:
                hint = " input_file_id is the task's input, not part of its config."
            raise BatchConfigError(
                f"Unknown key(s) in the {where}: {', '.join(unknown)}. "
                f"Allowed keys: {', '.join(ALLOWED_KEYS)}.{hint}"
            )
        window = config.get("completion_window", DEFAULT_COMPLETION_WINDOW)
        if window not in COMPLETION_WINDOWS:
            raise BatchConfigError(
                f"completion_window {window!r} in the {where} is not supported; "
                f"the Batch API accepts: {', '.join(COMPLETION_WINDOWS)}."
            )
        endpoint = config.get("endpoint", DEFAULT_ENDPOINT)
        if endpoint not in BATCH_ENDPOINTS:
            raise BatchConfigError(
                f"endpoint {endpoint!r} in the {where} is not a Batch API endpoint; "
                f"use one of: {', '.join(sorted(BATCH_ENDPOINTS))}."
            )
        return cls(
            completion_window=window,
            endpoint=endpoint,
            metadata=_parse_metadata(config.get("metadata"), where),
            output_expires_after=_parse_expiry(config.get("output_expires_after"), where),
            extra_headers=_parse_headers(config.get("extra_headers"), where),
            extra_query=_parse_query(config.get("extra_query"), where),
            extra_body=_parse_extra_body(config.get("extra_body"), where),
            timeout=_parse_timeout(config.get("timeout"), where),
        )

    def body_extras(self) -> dict[str, Any]:
        """What goes into the request body besides the SDK's named arguments."""
        if self.output_expires_after is None:
            return dict(self.extra_body)
        # Through extra_body: older SDKs (which the plugin supports) lack this argument.
        return {**self.extra_body, "output_expires_after": self.output_expires_after}


def _parse_metadata(metadata: Any, where: str) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise BatchConfigError(
            f"metadata in the {where} must be a dict of strings, got {type(metadata).__name__}."
        )
    if EXECUTION_METADATA_KEY in metadata:
        raise BatchConfigError(
            f"metadata key {EXECUTION_METADATA_KEY!r} in the {where} is reserved: the connector "
            "uses it to find the batch of a task execution again."
        )
    # One pair is kept for the connector's own key.
    if len(metadata) > MAX_METADATA_PAIRS - 1:
        raise BatchConfigError(
            f"metadata in the {where} has {len(metadata)} pairs; at most {MAX_METADATA_PAIRS - 1} are allowed "
            f"(the Batch API takes {MAX_METADATA_PAIRS} and the connector uses one)."
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise BatchConfigError(
                f"metadata in the {where} must map strings to strings; {key!r}: {value!r} does not."
            )
        if len(key) > MAX_METADATA_KEY_CHARS:
            raise BatchConfigError(
                f"metadata key {key[:20]!r}... in the {where} is {len(key)} characters; "
                f"at most {MAX_METADATA_KEY_CHARS} are allowed."
            )
        if len(value) > MAX_METADATA_VALUE_CHARS:
            raise BatchConfigError(
                f"metadata value of {key!r} in the {where} is {len(value)} characters; "
                f"at most {MAX_METADATA_VALUE_CHARS} are allowed."
            )
    return dict(metadata)


def _parse_expiry(expiry: Any, where: str) -> dict[str, Any] | None:
    if expiry is None:
        return None
    shape = f'{{"anchor": "created_at", "seconds": {MIN_OUTPUT_EXPIRY_SECONDS}..{MAX_OUTPUT_EXPIRY_SECONDS}}}'
    if not isinstance(expiry, Mapping) or set(expiry) != {"anchor", "seconds"}:
        raise BatchConfigError(f"output_expires_after in the {where} must be {shape}, got {expiry!r}.")
    seconds = expiry["seconds"]
    # A task template's custom travels as a protobuf Struct, which turns every number into a float.
    if isinstance(seconds, float) and seconds.is_integer():
        seconds = int(seconds)
    if (
        expiry["anchor"] != "created_at"
        or isinstance(seconds, bool)
        or not isinstance(seconds, int)
        or not MIN_OUTPUT_EXPIRY_SECONDS <= seconds <= MAX_OUTPUT_EXPIRY_SECONDS
    ):
        raise BatchConfigError(f"output_expires_after in the {where} must be {shape}, got {dict(expiry)!r}.")
    return {"anchor": "created_at", "seconds": seconds}


def _string_keyed(value: Any, name: str, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise BatchConfigError(f"{name} in the {where} must be a dict with string keys, got {value!r}.")
    return dict(value)


def _parse_headers(headers: Any, where: str) -> dict[str, str]:
    parsed = _string_keyed(headers, "extra_headers", where)
    for name, value in parsed.items():
        if not isinstance(value, str):
            raise BatchConfigError(
                f"extra_headers in the {where} must map strings to strings; {name!r} does not."
            )
        if name.lower() in CREDENTIAL_HEADERS:
            raise BatchConfigError(
                f"extra_headers in the {where} may not set {name!r}: a task template is readable by anyone "
                "who can see the task; the connector sends its own key (the FLYTE_OPENAI_API_KEY secret)."
            )
    return parsed


def _parse_query(query: Any, where: str) -> dict[str, Any]:
    parsed = _string_keyed(query, "extra_query", where)
    for name, value in parsed.items():
        if not isinstance(value, str | int | float | bool):
            raise BatchConfigError(
                f"extra_query in the {where} must map strings to strings or numbers; {name!r} does not."
            )
    return parsed


def _parse_extra_body(body: Any, where: str) -> dict[str, Any]:
    parsed = _string_keyed(body, "extra_body", where)
    named = sorted(set(parsed) & {*API_KEYS, "input_file_id"})
    if named:
        raise BatchConfigError(
            f"extra_body in the {where} repeats batches.create argument(s) {', '.join(named)}: give "
            "them as config keys (input_file_id is the task's input), where they are checked."
        )
    return parsed


def _parse_timeout(timeout: Any, where: str) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise BatchConfigError(
            f"timeout in the {where} must be a positive number of seconds, got {timeout!r}."
        )
    return float(timeout)
