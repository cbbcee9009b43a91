"""OpenAIBatch: a whole OpenAI Batch job of any size, run from a Flyte 2 task.

Flyte 2 tasks are async Python that may call other tasks, so the job is a coroutine (`OpenAIBatch.run`)
the user's task awaits. Each step is the engine's, as the flytekit `create_batch` runs it: the requests
are validated and split before anything is uploaded (`inputs.split`), their cost estimate printed
and held under ``max_cost_usd`` (`report.cost`), the parts uploaded (`files.uploads`, each file named
with its part's token estimate, which a budget of enqueued tokens reads), each round's batches run
by one `OpenAIBatchJobTask` (the engine's job runner behind the connector: in-flight limit,
``max_enqueued_tokens``, token-limit waits, cancel), and each round collected
(`results.rounds.run_round`: sorted, the requests that failed transiently or went unanswered in an
expired or cancelled batch uploaded as the next round's parts, the round's files deleted on the
server; the last round writes the table and the summary). The output file, the error file and the
table come back as Flyte types, with the same HTML page as the flytekit deck in the task's report.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import flyte
import flyte.report
from flyte.io import DataFrame, Dir, File

from openai_batch_jobs.api.client import make_client, run_on_own_loop, shared_async_client
from openai_batch_jobs.api.servers import trusted_base_url
from openai_batch_jobs.errors import OpenAIBatchError
from openai_batch_jobs.files.download import download_file
from openai_batch_jobs.files.uploads import delete_files, upload_parts
from openai_batch_jobs.inputs.split import PartLimits, plan_parts
from openai_batch_jobs.job.budget import TokenBudget
from openai_batch_jobs.job.runner import discard_inputs
from openai_batch_jobs.job.settings import JobTaskSettings
from openai_batch_jobs.report.cost import check_cost, check_max_cost, estimate_cost
from openai_batch_jobs.report.deck import render_deck
from openai_batch_jobs.report.prices import ModelPrice, parse_prices
from openai_batch_jobs.results.job_collection import ServerCleanup
from openai_batch_jobs.results.resend import DEFAULT_MAX_REQUEST_ATTEMPTS
from openai_batch_jobs.results.rounds import RoundFiles, RoundOutcome, RoundRules, run_round

from . import _local
from ._inputs import Requests, local_requests
from ._settings import CONNECTOR_KEY_ENV
from .task import DEFAULT_POLL_INTERVAL_S, OpenAIBatchJobTask


@dataclass
class BatchResults:
    """A finished job: every request's answer (output file) or last error (error file), one table row
    per request, in input order, and the summary (totals, failures by code, tokens, cost)."""

    output_file: Optional[File] = None  # noqa: UP045  (Flyte's type engine reads typing's spelling)
    error_file: Optional[File] = None  # noqa: UP045
    table: Optional[DataFrame] = None  # noqa: UP045
    summary: dict[str, Any] = field(default_factory=dict)


class OpenAIBatch:
    """A batch job's settings, its connector task (`task`) and that task's environment (`env`, for
    `depends_on`). Arguments as the flytekit `create_batch` and `BatchJobTask` take them; see
    docs/flyte2.md for where they differ.

    :param api_key_env: The variable the calling task reads its own key from (upload, download): give
        the task's environment `flyte.Secret(key=..., as_env_var=api_key_env)`.
    :param key_secret: The secret the connector's key is in (`FLYTE_OPENAI_API_KEY` in a local run).
    :param max_cost_usd: Refuse the job, before anything is uploaded, when the high figure of its cost
        estimate (printed either way) is above this many US dollars, or its model has no known price
        and `prices` does not name it.
    :param max_enqueued_tokens: A budget of enqueued prompt tokens for the job's running batches: one
        figure for every model, or ``{model: tokens}`` (``"*"``: every model not named).

    With ``max_request_attempts`` above 1 (the default), an expired or cancelled batch's unanswered
    requests are sent again in the next round, whatever ``accept_partial_results`` says.
    """

    def __init__(
        self,
        name: str,
        config: Mapping[str, Any] | None = None,
        *,
        openai_organization: str | None = None,
        base_url: str | None = None,
        accept_partial_results: bool = False,
        max_in_flight: int = 4,
        max_request_attempts: int = DEFAULT_MAX_REQUEST_ATTEMPTS,
        part_limits: PartLimits | None = None,
        token_limit_wait_s: float = 600.0,
        token_limit_attempts: int = 3,
        delete_input_files: bool = True,
        delete_result_files: bool = False,
        fail_on_missing_requests: bool = False,
        prices: Mapping[str, ModelPrice | list[float]] | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        key_secret: str = CONNECTOR_KEY_ENV,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        max_cost_usd: float | None = None,
        max_enqueued_tokens: int | Mapping[str, int] | None = None,
    ) -> None:
        self.name = name
        where = f"OpenAIBatch({name!r})"
        self.max_cost_usd = check_max_cost(max_cost_usd, where)
        parsed_prices = parse_prices(prices)
        self.settings = settings = JobTaskSettings(
            config=dict(config or {}),
            openai_organization=openai_organization,
            base_url=base_url,
            accept_partial_results=accept_partial_results,
            max_in_flight=max_in_flight,
            token_limit_wait_s=token_limit_wait_s,
            token_limit_attempts=token_limit_attempts,
            delete_input_files=delete_input_files,
            # A later round sends an expired or cancelled batch's unanswered requests again.
            resend_unanswered=max_request_attempts > 1,
            max_enqueued_tokens=TokenBudget.parse(max_enqueued_tokens, where, parsed_prices),
        )
        self.task = OpenAIBatchJobTask(name, settings, key_secret, poll_interval_s)
        self.env = flyte.TaskEnvironment.from_task(f"{name}_connector", self.task)
        # Checked here: a bad max_request_attempts fails where the job is declared.
        self.rules = RoundRules(
            max_request_attempts=max_request_attempts,
            results_table=True,
            prices=parsed_prices,
            limits=part_limits or PartLimits(),
            endpoint=settings.batch_config(name).endpoint,
        )
        self.cleanup = ServerCleanup(delete_input_files, delete_result_files, fail_on_missing_requests)
        self.api_key_env = api_key_env

    async def run(self, requests: Requests) -> BatchResults:
        """Run the job (see the module's docstring); call it from a task, `report=True` for the page."""
        api_key = os.environ.get(self.api_key_env, "").strip()
        if not api_key:
            raise OpenAIBatchError(
                f"The OpenAI API key is not in {self.api_key_env}: give the task's environment "
                f'flyte.Secret(key=..., as_env_var="{self.api_key_env}") (a local run reads the variable itself).'
            )
        workdir = Path(tempfile.mkdtemp(prefix=f"openai-batch-{self.name}-"))
        path = await local_requests(requests, workdir)
        # Every problem of the input is found here, before anything is uploaded; the same pass writes
        # each part's request keys, which round 1 sorts from instead of downloading the parts back.
        plan = await asyncio.to_thread(
            plan_parts, path, self.rules.limits, self.rules.endpoint, str(workdir / "keys")
        )
        estimate = estimate_cost(plan.summary.model, plan.summary.tokens, self.rules.prices)
        print(estimate.line(), file=sys.stderr, flush=True)
        check_cost(estimate, self.max_cost_usd, f"OpenAIBatch {self.name!r}")
        key, rules, previous = _run_key(self.name), self.rules, RoundFiles()
        settings = self.settings
        with make_client(
            api_key, organization=settings.openai_organization, base_url=settings.base_url
        ) as client:
            file_ids = await asyncio.to_thread(upload_parts, client, plan, api_key=api_key)
            part_keys: list[str] | None = plan.keys
            while True:
                directory = workdir / f"round{rules.attempt}"
                outcome = await self._round(
                    client,
                    api_key,
                    file_ids,
                    f"{key}/r{rules.attempt}",
                    rules,
                    previous,
                    directory,
                    part_keys,
                )
                if not outcome.resend_parts:
                    return await _results(outcome)
                file_ids, previous, rules = outcome.resend_parts, outcome.files, rules.next()
                part_keys = None  # a later round's parts are cut from its resend file

    async def _round(
        self,
        client: Any,
        api_key: str,
        file_ids: list[str],
        key: str,
        rules: RoundRules,
        previous: RoundFiles,
        directory: Path,
        part_keys: list[str] | None,
    ) -> RoundOutcome:
        """One round: its parts' batches by the job task, then the engine's collect of the round
        (from ``part_keys``, each part's keys file, when known)."""
        cleanup = _local.pending(lambda: self._discarded(file_ids, api_key))
        try:
            result: dict[str, Any] = await self.task.aio(key=key, input_file_ids=file_ids)
        except BaseException:
            if self.cleanup.delete_input_files:
                await asyncio.to_thread(delete_files, client, file_ids, api_key=api_key)
            raise
        finally:
            _local.done(cleanup)

        def download(file_id: str, path: Path) -> int:
            return download_file(client, file_id, path, api_key=api_key)

        return await asyncio.to_thread(
            run_round,
            client,
            result["batches"],
            directory,
            rules,
            download=download,
            previous=previous,
            cleanup=self.cleanup,
            api_key=api_key,
            part_keys=part_keys,
        )

    def _discarded(self, file_ids: list[str], api_key: str) -> str:
        """An interrupted run's input files, deleted at interpreter exit (no new threads: the engine's
        async delete on a loop of its own)."""
        settings = self.settings

        async def discard() -> str:
            # The loop's own client: one is built on the loop that uses it.
            client = shared_async_client(
                api_key, settings.openai_organization, trusted_base_url(settings.base_url)
            )
            return await discard_inputs(client, settings, file_ids, api_key)

        return run_on_own_loop(discard())


async def _results(outcome: RoundOutcome) -> BatchResults:
    """The last round's files, table and summary as Flyte types, and the report page."""
    results = outcome.results
    assert results is not None, "the last round of a job with a results table has its results"
    await flyte.report.replace.aio(render_deck(results.summary), do_flush=True)
    table_dir = await Dir.from_local(results.table.directory)
    return BatchResults(
        output_file=await _file(outcome.files.output),
        error_file=await _file(outcome.files.errors),
        table=DataFrame(uri=table_dir.path, format="parquet"),
        summary=results.summary,
    )


async def _file(path: str | None) -> File | None:
    return None if path is None else await File.from_local(path)


def _run_key(name: str) -> str:
    """Names this run's batches: the Flyte run and action, or a fresh id outside a task."""
    ctx = flyte.ctx()
    action = getattr(ctx, "action", None)
    if action is not None and action.run_name:
        return f"{action.run_name}/{action.name}/{name}"
    return f"local/{uuid.uuid4().hex}/{name}"
