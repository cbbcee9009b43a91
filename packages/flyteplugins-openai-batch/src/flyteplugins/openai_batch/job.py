"""OpenAIBatch: a whole OpenAI Batch job of any size, run from a Flyte 2 task.

Flyte 2 tasks are async Python that may call other tasks, so the job is a coroutine (`OpenAIBatch.run`)
the user's task awaits: it validates and splits the requests (before anything is uploaded), uploads
the parts, runs one `OpenAIBatchTask` (the connector) per part with at most `max_in_flight` at once,
sends the requests that failed transiently again in further rounds, and returns the output file, the
error file and the results table, with the summary in the log and the same HTML page as the flytekit
deck in the task's report. The job's input files are deleted from the server as each round ends (and
when the run is interrupted), its result files too with `delete_result_files`.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import flyte
import flyte.report
from flyte.io import DataFrame, Dir, File

from openai_batch_jobs.api.client import make_client
from openai_batch_jobs.errors import BatchResultError, OpenAIBatchError
from openai_batch_jobs.inputs.split import PartLimits, plan_parts
from openai_batch_jobs.report.deck import render_deck
from openai_batch_jobs.report.job_results import summarize_job
from openai_batch_jobs.report.prices import ModelPrice
from openai_batch_jobs.results.request_retry import DEFAULT_MAX_REQUEST_ATTEMPTS, RoundReport, collect_round
from openai_batch_jobs.runner.parts import download_round
from openai_batch_jobs.runner.transfer import delete_files, delete_in_turn, upload_parts
from openai_batch_jobs.words import counted, warn

from . import _local
from ._inputs import Requests, local_requests
from ._parts import PartRunner
from ._settings import CONNECTOR_KEY_ENV
from .task import DEFAULT_POLL_INTERVAL_S, OpenAIBatchTask

SUMMARY_PREFIX = "OpenAI batch job summary: "
OUTPUT_NAME, ERROR_NAME, KEYS_NAME = "job-output.jsonl", "job-errors.jsonl", "job-request-keys.jsonl"


@dataclass
class BatchResults:
    """A finished job: every request's answer (output file) or last error (error file), one table row
    per request, in input order, and the summary (totals, failures by code, tokens, cost)."""

    output_file: Optional[File] = None  # noqa: UP045  (Flyte's type engine reads typing's spelling)
    error_file: Optional[File] = None  # noqa: UP045
    table: Optional[DataFrame] = None  # noqa: UP045
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Round:
    """What the rounds so far have decided, and where: the next round reads and extends it."""

    directory: Path
    output: str | None = None
    errors: str | None = None
    rounds: list[list[dict[str, Any]]] = field(default_factory=list)
    starts: list[tuple[int, int]] = field(default_factory=list)


class OpenAIBatch:
    """A batch job's settings, its connector task (`task`) and that task's environment (`env`, for
    `depends_on`). Arguments as the flytekit `create_batch` and `BatchJobTask` take them; see
    docs/flyte2.md for where they differ.

    :param api_key_env: The variable the calling task reads its own key from (upload, download): give
        the task's environment `flyte.Secret(key=..., as_env_var=api_key_env)`.
    :param key_secret: The secret the connector's key is in (`FLYTE_OPENAI_API_KEY` in a local run).
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
        prices: Mapping[str, ModelPrice] | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        key_secret: str = CONNECTOR_KEY_ENV,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
    ) -> None:
        if max_in_flight < 1 or max_request_attempts < 1 or token_limit_attempts < 1:
            raise ValueError(
                f"OpenAIBatch {name!r}: max_in_flight, max_request_attempts and token_limit_attempts must be >= 1"
            )
        self.name = name
        self.task = OpenAIBatchTask(
            name,
            dict(config or {}),
            openai_organization,
            base_url,
            accept_partial_results,
            key_secret,
            poll_interval_s,
        )
        self.env = flyte.TaskEnvironment.from_task(f"{name}_connector", self.task)
        self.endpoint = self.task.settings.batch_config().endpoint
        self.parts = PartRunner(self.task, max_in_flight, token_limit_wait_s, token_limit_attempts)
        self.max_request_attempts = max_request_attempts
        self.part_limits = part_limits or PartLimits()
        self.delete_input_files = delete_input_files
        self.delete_result_files = delete_result_files
        self.fail_on_missing_requests = fail_on_missing_requests
        self.prices = prices
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
        # Every problem of the input is found here, before anything is uploaded.
        plan = await asyncio.to_thread(plan_parts, path, self.part_limits, self.endpoint)
        key = _run_key(self.name)
        state = _Round(workdir)
        client = make_client(
            api_key, organization=self.task.settings.openai_organization, base_url=self.task.settings.base_url
        )
        with client:
            for attempt in range(1, self.max_request_attempts + 1):
                report = await self._round(client, api_key, plan, key, attempt, state)
                if not report.retried:
                    break
                retry = str(workdir / f"round{attempt}" / "retry.jsonl")
                plan = await asyncio.to_thread(plan_parts, retry, self.part_limits, self.endpoint)
        return await self._finish(state, str(workdir / KEYS_NAME))

    async def _round(
        self, client: Any, api_key: str, plan: Any, key: str, attempt: int, state: _Round
    ) -> RoundReport:
        directory = state.directory / f"round{attempt}"
        directory.mkdir()
        file_ids = await asyncio.to_thread(upload_parts, client, plan, api_key=api_key)
        cleanup = _local.pending(lambda: self._deleted(file_ids, api_key))
        try:
            batches = await self.parts.run(f"{key}/r{attempt}", file_ids)
        except BaseException:
            if self.delete_input_files:
                await asyncio.to_thread(delete_files, client, file_ids, api_key=api_key)
            raise
        finally:
            _local.done(cleanup)
        parts = await asyncio.to_thread(download_round, client, batches, directory, api_key=api_key)
        report = await asyncio.to_thread(
            collect_round,
            parts,
            attempt=attempt,
            max_request_attempts=self.max_request_attempts,
            output_path=str(directory / OUTPUT_NAME),
            error_path=str(directory / ERROR_NAME),
            retry_path=str(directory / "retry.jsonl"),
            previous_output=state.output,
            previous_errors=state.errors,
            keys_path=str(state.directory / KEYS_NAME) if attempt == 1 else None,
        )
        await asyncio.to_thread(
            _unlink, [p for part in parts for p in (part.input_path, part.output_path, part.error_path)]
        )
        self._say(report)
        await asyncio.to_thread(self._delete_server_files, client, batches, api_key)
        state.output, state.errors = str(directory / OUTPUT_NAME), str(directory / ERROR_NAME)
        state.rounds.append(batches)
        state.starts.append((report.output_start, report.error_start))
        return report

    def _say(self, report: RoundReport) -> None:
        for line in report.lines():
            print(line, flush=True)
        if report.missing:
            message = (
                f"{counted(report.missing, 'request')} of round {report.attempt} had no line in its batch's "
                "result files (each has an error line with code missing_result)"
            )
            if self.fail_on_missing_requests:
                raise BatchResultError(message + " (fail_on_missing_requests is set)")
            warn(message)
        if report.retried:
            print(f"Round {report.attempt}: sending {counted(report.retried, 'request')} again", flush=True)

    def _delete_server_files(self, client: Any, batches: list[dict[str, Any]], api_key: str) -> None:
        kinds = (["input"] if self.delete_input_files else []) + (
            ["output", "error"] if self.delete_result_files else []
        )
        delete_files(
            client,
            [str(b[f"{k}_file_id"]) for b in batches for k in kinds if b.get(f"{k}_file_id")],
            api_key=api_key,
        )

    def _deleted(self, file_ids: list[str], api_key: str) -> str:
        """An interrupted run's input files, deleted one by one from a client of its own: at interpreter
        exit no thread pool (the engine's parallel delete) may start, and the run's client may be closed."""
        if not self.delete_input_files:
            return ""
        settings = self.task.settings
        with make_client(
            api_key, organization=settings.openai_organization, base_url=settings.base_url
        ) as client:
            deleted = delete_in_turn(client, file_ids, api_key=api_key)
        return f"Deleted the run's {counted(len(deleted), 'input file')} from the server." if deleted else ""

    async def _finish(self, state: _Round, keys: str) -> BatchResults:
        """The table and summary of the whole job, the report page, the outputs as Flyte types."""
        results = await asyncio.to_thread(
            summarize_job,
            [keys],
            state.output,
            state.errors,
            table_directory=str(state.directory / "table"),
            starts=state.starts,
            rounds=state.rounds,
            prices=self.prices,
            max_request_attempts=self.max_request_attempts,
        )
        print(SUMMARY_PREFIX + json.dumps(results.summary, separators=(",", ":")), flush=True)
        await flyte.report.replace.aio(render_deck(results.summary), do_flush=True)
        table_dir = await Dir.from_local(results.table.directory)
        return BatchResults(
            output_file=await _file(state.output),
            error_file=await _file(state.errors),
            table=DataFrame(uri=table_dir.path, format="parquet"),
            summary=results.summary,
        )


async def _file(path: str | None) -> File | None:
    if path is None or await asyncio.to_thread(os.path.getsize, path) == 0:
        return None
    return await File.from_local(path)


def _unlink(paths: list[str | None]) -> None:
    """The parts' files were read into the job's files: free the disk."""
    for path in paths:
        if path:
            Path(path).unlink(missing_ok=True)


def _run_key(name: str) -> str:
    """Names this run's batches: the Flyte run and action, or a fresh id outside a task."""
    ctx = flyte.ctx()
    action = getattr(ctx, "action", None)
    if action is not None and action.run_name:
        return f"{action.run_name}/{action.name}/{name}"
    return f"local/{uuid.uuid4().hex}/{name}"
