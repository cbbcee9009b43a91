"""What a connector keeps between its calls for one batch (`BatchRecord`) or one job (`Job`): JSON,
never pickle.

A workflow engine stores these bytes and hands them back on every poll and cancel, possibly to
another connector replica or a newer plugin version, so they must be plain data that decodes the same
way everywhere. Unpickling bytes from the wire would run whatever they say, so anything that is not
this JSON (such as the cloudpickle of the upstream plugin) is refused with a clear error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from openai_batch_jobs.errors import ResourceMetaError
from openai_batch_jobs.job.settings import JobTaskSettings
from openai_batch_jobs.job.state import Job

R = TypeVar("R", bound="BatchRecord")
J = TypeVar("J", bound=Job)


@dataclass(init=False)
class BatchRecord:
    """Which batch a task execution owns and where it lives.

    Upstream's class named the organization `openai_org`; that name is accepted (as a keyword) and
    readable too, so code that builds or reads the record the upstream way keeps working.
    """

    batch_id: str
    openai_organization: str | None
    # The server the task named; None is the connector's own (its OPENAI_BASE_URL, else OpenAI's), as
    # upstream's record knew no other. A task's server is kept so every poll goes where the batch is.
    base_url: str | None
    accept_partial_results: bool

    def __init__(
        self,
        batch_id: str,
        openai_organization: str | None = None,
        base_url: str | None = None,
        accept_partial_results: bool = False,
        *,
        openai_org: str | None = None,
    ) -> None:
        if openai_org is not None and openai_organization not in (None, openai_org):
            raise TypeError(
                f"{type(self).__name__} got two organizations: give openai_organization or openai_org"
            )
        self.batch_id = batch_id
        self.openai_organization = openai_organization if openai_organization is not None else openai_org
        self.base_url = base_url
        self.accept_partial_results = accept_partial_results

    @property
    def openai_org(self) -> str | None:
        """Upstream's name of `openai_organization`."""
        return self.openai_organization

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "batch_id": self.batch_id,
                "openai_organization": self.openai_organization,
                "base_url": self.base_url,
                "accept_partial_results": self.accept_partial_results,
            },
            sort_keys=True,
        ).encode("utf-8")

    @classmethod
    def from_json(cls: type[R], data: bytes) -> R:
        fields = _json_object(data, "openai-batch")
        if not isinstance(fields.get("batch_id"), str) or not fields["batch_id"]:
            raise ResourceMetaError(_not_ours(data, "openai-batch"))
        partial = fields.get("accept_partial_results", False)
        if not isinstance(partial, bool):
            raise ResourceMetaError(_not_ours(data, "openai-batch"))
        return cls(
            batch_id=fields["batch_id"],
            openai_organization=_optional_str(fields, "openai_organization", data),
            base_url=_optional_str(fields, "base_url", data),
            accept_partial_results=partial,
        )


def job_to_json(job: Job) -> bytes:
    fields: dict[str, Any] = {
        "key": job.key,
        "input_file_ids": job.input_file_ids,
        "created_at": job.created_at,
        "settings": job.settings.to_custom(),
    }
    if job.part_tokens is not None:
        fields["part_tokens"] = [[tokens, model] for tokens, model in job.part_tokens]
    return json.dumps(fields, sort_keys=True).encode("utf-8")


def job_from_json(cls: type[J], data: bytes) -> J:
    """A `cls` (a `Job`) from `job_to_json`'s bytes; ResourceMetaError for anything else."""
    fields = _json_object(data, "openai-batch-job")
    if not (
        isinstance(fields.get("key"), str)
        and isinstance(fields.get("input_file_ids"), list)
        and all(isinstance(f, str) for f in fields["input_file_ids"])
        and isinstance(fields.get("created_at"), (int, float))
        and isinstance(fields.get("settings"), dict)
    ):
        raise ResourceMetaError(_not_ours(data, "openai-batch-job"))
    return cls(
        key=fields["key"],
        input_file_ids=list(fields["input_file_ids"]),
        created_at=float(fields["created_at"]),
        settings=JobTaskSettings.from_custom(fields["settings"]),
        part_tokens=_part_tokens(fields.get("part_tokens"), data),
    )


def _part_tokens(value: Any, data: bytes) -> list[tuple[int, str | None]] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(p, list) and len(p) == 2 and isinstance(p[0], int) and isinstance(p[1], str | None)
        for p in value
    ):
        raise ResourceMetaError(_not_ours(data, "openai-batch-job"))
    return [(int(tokens), model) for tokens, model in value]


def _json_object(data: bytes, task_type: str) -> dict[str, Any]:
    try:
        fields = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ResourceMetaError(_not_ours(data, task_type)) from None
    if not isinstance(fields, dict):
        raise ResourceMetaError(_not_ours(data, task_type))
    return fields


def _optional_str(fields: dict[str, Any], name: str, data: bytes) -> str | None:
    value = fields.get(name)
    if value is not None and not isinstance(value, str):
        raise ResourceMetaError(_not_ours(data, "openai-batch"))
    return value


def _not_ours(data: bytes, task_type: str) -> str:
    # Protocol 2+ pickles start with 0x80; say so, since that is what the upstream plugin wrote.
    if bytes(data[:1]) == b"\x80":
        what = "is a pickle (as the upstream flytekitplugins-openai wrote it)"
    else:
        what = "is not the JSON this connector writes"
    return (
        f"The resource meta of this {task_type} task ({len(data)} bytes) {what}; it is never unpickled. "
        "Re-run the task so that this connector creates its batches (a batch created before can be "
        "cancelled in the OpenAI dashboard)."
    )
