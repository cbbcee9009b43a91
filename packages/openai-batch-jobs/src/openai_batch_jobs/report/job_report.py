"""The last round's step: the results table and the summary of a whole job, in one pass over its requests.

A job's last step calls `summarize_job` once, after `resend.collect_round` of the last round,
logs the summary, shows the deck (`deck.render_deck`) and returns the table (`results.table`) in its
framework's table type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openai_batch_jobs.report.prices import ModelPrice
from openai_batch_jobs.report.results_table import ResultsTable, write_results_table
from openai_batch_jobs.report.summary import SummaryBuilder


@dataclass(frozen=True)
class JobResults:
    table: ResultsTable
    summary: dict[str, Any]


def summarize_job(
    inputs: Sequence[str],
    output_path: str | None,
    error_path: str | None,
    *,
    table_directory: str,
    starts: Sequence[tuple[int, int]] = ((0, 0),),
    rounds: Sequence[Sequence[Mapping[str, Any]]] = (),
    prices: Mapping[str, ModelPrice] | None = None,
    max_request_attempts: int | None = None,
) -> JobResults:
    """Write the results table of a finished job and summarize it.

    ``inputs``: the job's request files (round 1's parts, in order: the table keeps their order);
    ``output_path`` / ``error_path``: the final files of the last round; ``starts``: where each round's
    lines begin in them (`write_results_table`); ``rounds``: each round's batch dicts, for the timelines; ``prices``: Batch prices laid over the built-in table.
    """
    builder = SummaryBuilder()
    table = write_results_table(
        inputs, output_path, error_path, table_directory, starts=starts, summary=builder
    )
    return JobResults(table, builder.build(rounds, prices=prices, max_request_attempts=max_request_attempts))
