"""What FlytePropeller keeps between the job connector's calls: the engine's `Job`, as JSON, never
pickle (see `openai_batch_jobs.job.records`).

All GetTask and DeleteTask get is these bytes, possibly on another connector replica or after a
restart, so they hold everything needed to find the job's batches on the server again: the key its
batches are tagged with, the parts' input files, when the job began, the settings CreateTask read.
"""

from __future__ import annotations

from dataclasses import dataclass

from openai_batch_jobs.job.records import job_from_json, job_to_json
from openai_batch_jobs.job.state import Job

from .._compat import ResourceMeta


@dataclass
class BatchJobMetadata(Job, ResourceMeta):
    """One job (the engine's `Job`) as Flyte keeps it between calls."""

    def encode(self) -> bytes:
        return job_to_json(self)

    @classmethod
    def decode(cls, data: bytes) -> BatchJobMetadata:
        return job_from_json(cls, data)
