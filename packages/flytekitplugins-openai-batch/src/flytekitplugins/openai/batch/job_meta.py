"""What FlytePropeller keeps between the job connector's calls: JSON, never pickle.

All GetTask and DeleteTask get is these bytes, possibly on another connector replica or after a
restart, so they hold everything needed to find the job's batches on the server again: the key its
batches are tagged with, the parts' input files, when the job began (how far back to list), and the
settings CreateTask read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ._compat import ResourceMeta
from .errors import ResourceMetaError
from .job_settings import JobTaskSettings


@dataclass
class BatchJobMetadata(ResourceMeta):
    """One job: the key its batches carry, its parts (input file ids, in order) and its settings."""

    key: str
    input_file_ids: list[str]
    # Epoch seconds no later than the creation of the job's first batch: GetTask lists back to here.
    created_at: float
    settings: JobTaskSettings

    @property
    def done_at_create(self) -> bool:
        """A job without parts (a retry round with nothing to send again) has finished when created."""
        return not self.input_file_ids

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
