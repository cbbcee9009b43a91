"""What FlytePropeller keeps between the job connector's calls: JSON, never pickle.

All GetTask and DeleteTask get is these bytes, possibly on another connector replica or after a
restart, so they hold everything needed to find the job's batches on the server again: the engine's
job description (`openai_batch_jobs.job.state.Job`: the key its batches are tagged with, the parts'
input files, when the job began, the settings CreateTask read), which this meta is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from openai_batch_jobs.job.settings import JobTaskSettings
from openai_batch_jobs.job.state import Job

from ._compat import ResourceMeta
from .errors import ResourceMetaError


@dataclass
class BatchJobMetadata(Job, ResourceMeta):
    """One job (the engine's `Job`) as Flyte keeps it between calls."""

    def encode(self) -> bytes:
        return json.dumps(
            {
                "key": self.key,
                "input_file_ids": self.input_file_ids,
                "created_at": self.created_at,
                "settings": self.settings.to_custom(),
            },
            sort_keys=True,
        ).encode("utf-8")

    @classmethod
    def decode(cls, data: bytes) -> BatchJobMetadata:
        try:
            fields: Any = json.loads(bytes(data).decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ResourceMetaError(_not_ours(data)) from None
        if not (
            isinstance(fields, dict)
            and isinstance(fields.get("key"), str)
            and isinstance(fields.get("input_file_ids"), list)
            and all(isinstance(f, str) for f in fields["input_file_ids"])
            and isinstance(fields.get("created_at"), (int, float))
            and isinstance(fields.get("settings"), dict)
        ):
            raise ResourceMetaError(_not_ours(data))
        return cls(
            key=fields["key"],
            input_file_ids=list(fields["input_file_ids"]),
            created_at=float(fields["created_at"]),
            settings=JobTaskSettings.from_custom(fields["settings"]),
        )


def _not_ours(data: bytes) -> str:
    what = "is a pickle" if bytes(data[:1]) == b"\x80" else "is not the JSON this connector writes"
    return (
        f"The resource meta of this openai-batch-job task ({len(data)} bytes) {what}; it is never unpickled. "
        "Re-run the task (the batches of the earlier run can be cancelled in the OpenAI dashboard)."
    )
