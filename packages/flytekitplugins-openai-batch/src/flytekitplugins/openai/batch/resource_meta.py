"""What FlytePropeller keeps between connector calls for one batch: the engine's `BatchRecord`, as
JSON, never pickle (see `openai_batch_jobs.job.records`)."""

from __future__ import annotations

from openai_batch_jobs.job.records import BatchRecord

from ._compat import ResourceMeta


class BatchEndpointMetadata(BatchRecord, ResourceMeta):
    """Which batch a task execution owns and where it lives; upstream's `openai_org` works too."""

    def encode(self) -> bytes:
        return self.to_json()

    @classmethod
    def decode(cls, data: bytes) -> BatchEndpointMetadata:
        return cls.from_json(data)
