"""What a job's batches step returns and what one round of its collect step hands to the next, as data.

Plain dataclasses, so that a framework's type engine can carry them between steps (flytekit's carries
them as plain dict literals: `flytekitplugins.openai.files.outputs.literals`). Batch objects are the
API's JSON as ``dict``: a bare ``dict``, because a schema of ``dict[str, Any]`` makes flytekit say
``Any`` would travel pickled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openai_batch_jobs.errors import BatchResultError


@dataclass
class JobResult:
    """The job task's result.

    ``batches``: per part, in part order, the newest batch of the part (the API's batch object); a
    part that never ran is ``{"input_file_id": ..., "status": "not_started"}``. ``parts``: how many;
    ``parts_done``: parts with results; ``failed_parts``: indices (from 0) of the parts that failed
    (only when partial results are accepted, else the job fails); ``request_counts``: ``total``,
    ``completed`` and ``failed`` summed over the parts' batches.
    """

    batches: list[dict] = field(default_factory=list)
    parts: int = 0
    parts_done: int = 0
    failed_parts: list[int] = field(default_factory=list)
    request_counts: dict[str, int] = field(default_factory=dict)


@dataclass
class RoundRecord:
    """One finished round: its batches (the deck's timelines) and where its lines begin in the job's
    output and error files (each round's lines are one run of the results table)."""

    batches: list[dict] = field(default_factory=list)
    output_start: int = 0
    error_start: int = 0


def batches_of(job_result: Mapping[str, Any] | JobResult) -> list[Mapping[str, Any]]:
    """The batches of a job result, in part order; a single batch object (as the one-batch task
    returns it) is a job of one part. A job with no batch, or batches that are not objects, is refused."""
    if isinstance(job_result, JobResult):
        batches: Any = job_result.batches
    elif "batches" in job_result:
        batches = job_result["batches"]
    else:
        return [job_result]
    if not isinstance(batches, Sequence) or not all(isinstance(b, Mapping) for b in batches) or not batches:
        raise BatchResultError(
            f"The job result's 'batches' must be a non-empty list of batch objects, got {batches!r:.200}"
        )
    return list(batches)
