"""What a job knows of its parts before it creates any batch: their estimates, from their files' names.

A job task gets only the parts' file ids; the upload steps named each file with its part's token
estimate and model (`inputs.part_names`). A job with a budget of enqueued tokens
(``max_enqueued_tokens``) or a cost cap (``max_cost_usd``) reads them when it starts: the budget
keeps each part's bound and model, and the cap refuses the job, before any batch, when the parts'
high figure (priced per model, `report.cost`) is above it. A part whose name carries no estimate (a
file another tool uploaded) cannot be counted, so such a job is refused rather than guessed at.
"""

from __future__ import annotations

import asyncio
from typing import Any

from openai_batch_jobs.api.retry import Deadline
from openai_batch_jobs.errors import BatchConfigError
from openai_batch_jobs.inputs.estimate import TokenTotals
from openai_batch_jobs.inputs.part_names import PartEstimate, estimate_of
from openai_batch_jobs.job.settings import JobTaskSettings
from openai_batch_jobs.report.cost import BEFORE_BATCHES, check_cost, estimate_cost


def needs_estimates(settings: JobTaskSettings) -> bool:
    """Whether the job reads its parts' estimates when it starts."""
    return bool(settings.max_enqueued_tokens) or settings.max_cost_usd is not None


async def read_estimates(
    client: Any, key: str, file_ids: list[str], settings: JobTaskSettings, deadline: Deadline
) -> list[PartEstimate]:
    """Each part's estimate, in part order; BatchConfigError naming a part whose name has none."""
    options = {"timeout": deadline.remaining()}
    files = await asyncio.gather(*(client.files.retrieve(f, **options) for f in file_ids))
    found = []
    for file_id, file in zip(file_ids, files, strict=True):
        estimate = estimate_of(str(getattr(file, "filename", "") or ""))
        if estimate is None:
            knobs = " and ".join(_knobs(settings))
            raise BatchConfigError(
                f"Job {key} has {knobs}, but its input file {file_id} ({file.filename!r}) "
                "does not say its token estimate: upload the parts with UploadPartsTask (or create_batch), "
                f"which names each part's file with it, or run the job without {knobs}. "
                "No batch was created."
            )
        found.append(estimate)
    return found


def check_job_cost(settings: JobTaskSettings, estimates: list[PartEstimate]) -> None:
    """Refuse the job, before any batch, when its parts' high figure is above ``max_cost_usd``."""
    if settings.max_cost_usd is None:
        return
    per_model: dict[str | None, TokenTotals] = {}
    for part in estimates:
        totals = per_model.setdefault(part.model, TokenTotals())
        totals.prompt += part.prompt
        totals.bound += part.bound
        totals.output += part.output
    costs = [estimate_cost(model, totals, settings.prices) for model, totals in per_model.items()]
    check_cost(costs, settings.max_cost_usd, "The job task", BEFORE_BATCHES)


def _knobs(settings: JobTaskSettings) -> list[str]:
    """The settings that need the parts' estimates."""
    knobs = ["max_enqueued_tokens"] if settings.max_enqueued_tokens else []
    return [*knobs, "max_cost_usd"] if settings.max_cost_usd is not None else knobs
