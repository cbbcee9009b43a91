"""The checks of a create-batch request's body, in OpenAI's words, before anything is created."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import bad_request, invalid_value

# The endpoints the API description allows for a batch; the emulator answers every one of them.
SPEC_ENDPOINTS = (
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
)
CREATE_FIELDS = ("input_file_id", "endpoint", "completion_window", "metadata", "output_expires_after")
REQUIRED_FIELDS = ("input_file_id", "endpoint", "completion_window")


@dataclass(frozen=True)
class CreateRequest:
    input_file_id: str
    endpoint: str
    metadata: dict[str, str] | None
    output_expires_seconds: int | None


def check_create(body: Any) -> CreateRequest:
    """The request's parts once every field is known and valid; else the ApiError OpenAI answers."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    for name in body:
        if name not in CREATE_FIELDS:
            raise bad_request(f"Unrecognized request argument supplied: {name}", param=name)
    for name in REQUIRED_FIELDS:
        if body.get(name) is None:
            raise bad_request(
                f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter"
            )
        if not isinstance(body[name], str):
            raise bad_request(
                f"Invalid type for '{name}': expected a string.", param=name, code="invalid_type"
            )
    if body["endpoint"] not in SPEC_ENDPOINTS:
        raise invalid_value(body["endpoint"], SPEC_ENDPOINTS, param="endpoint")
    if body["completion_window"] != "24h":
        raise invalid_value(body["completion_window"], ("24h",), param="completion_window")
    return CreateRequest(
        input_file_id=body["input_file_id"],
        endpoint=body["endpoint"],
        metadata=_check_metadata(body.get("metadata")),
        output_expires_seconds=_check_output_expiry(body.get("output_expires_after")),
    )


def _check_metadata(metadata: Any) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise bad_request(
            "Invalid type for 'metadata': expected an object.", param="metadata", code="invalid_type"
        )
    if len(metadata) > 16:
        raise bad_request(
            f"Invalid 'metadata': too many properties ({len(metadata)}); at most 16 are allowed.",
            param="metadata",
            code="object_above_max_length",
        )
    for key, value in metadata.items():
        if len(key) > 64:
            raise bad_request(
                f"Invalid 'metadata': key {key[:20]!r}... is longer than 64 characters.",
                param="metadata",
                code="invalid_value",
            )
        if not isinstance(value, str):
            raise bad_request(
                f"Invalid type for 'metadata.{key}': expected a string.",
                param=f"metadata.{key}",
                code="invalid_type",
            )
        if len(value) > 512:
            raise bad_request(
                f"Invalid 'metadata.{key}': string too long ({len(value)} characters); at most 512 allowed.",
                param=f"metadata.{key}",
                code="string_above_max_length",
            )
    return dict(metadata)


def _check_output_expiry(policy: Any) -> int | None:
    if policy is None:
        return None
    if not isinstance(policy, dict) or policy.get("anchor") != "created_at":
        raise bad_request(
            'Invalid \'output_expires_after\': expected {"anchor": "created_at", "seconds": N}.',
            param="output_expires_after",
            code="invalid_value",
        )
    seconds = policy.get("seconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 3600 <= seconds <= 2_592_000:
        raise bad_request(
            "Invalid 'output_expires_after.seconds': must be an integer between 3600 and 2592000.",
            param="output_expires_after.seconds",
            code="invalid_value",
        )
    return seconds
