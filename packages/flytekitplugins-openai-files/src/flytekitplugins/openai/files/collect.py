"""The collect task: one output file and one error file for a whole job, however many batches it ran as.

Each part's result files are downloaded one at a time and streamed onto the end of the job's two
files, so memory (and the extra disk) stays one part's worth. Every part is accounted for like a
single batch's download (succeeded, failed, missing from both files), and the totals are printed.
Once the results are safe, the job's input files are deleted from the server (``delete_input_files``,
on by default) and, if asked, the server's result files too (``delete_result_files``).

When failed requests are sent again or a results table is asked for (as `create_batch` does by
default), the task is one round of the job instead and `job_rounds.run_round` does the work.
"""

from __future__ import annotations

import shutil
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional  # noqa: UP035

import flytekit
from flytekit.configuration import SerializationSettings
from flytekit.core.context_manager import FlyteContextManager
from flytekit.core.interface import Interface
from flytekit.core.python_customized_container_task import TaskTemplateResolver
from flytekit.core.shim_task import ExecutableTemplateShimTask, ShimTaskExecutor
from flytekit.core.type_engine import TypeEngine
from flytekit.models.literals import LiteralMap
from flytekit.models.task import TaskTemplate
from flytekit.types.file import JSONLFile
from flytekit.types.structured import StructuredDataset

from openai_batch_jobs.api.batch_api import PARTIAL_STATUSES
from openai_batch_jobs.errors import BatchResultError
from openai_batch_jobs.inputs.split import PartLimits
from openai_batch_jobs.json_lines import READ_BUFFER
from openai_batch_jobs.results.counts import NAMED_MISSING
from openai_batch_jobs.results.reconcile import RequestTally, request_total
from openai_batch_jobs.words import counted, warn

from ._task import OpenAIFileTask
from .config import OpenAIFileConfig
from .download import account_for_requests, batch_label, download_file
from .job_rounds import DOWNLOAD_WORKERS, ERROR_NAME, OUTPUT_NAME, RoundOutcome, run_round
from .result import BatchResult
from .settings import COLLECT_TASK_TYPE, CollectSettings, parse_prices
from .upload import delete_files

# The types of a round's carried files and of the next round's parts (typing's spelling, as flytekit
# matches it on every supported Python).
_MAYBE_FILE: Any = Optional[JSONLFile]  # noqa: UP045
_MAYBE_TABLE: Any = Optional[StructuredDataset]  # noqa: UP045
# From round 2 on, what the round before passes on (files, not a BatchResult: the pod rebuilds input
# types from the template, and a dataclass holding files does not come back from that).
ROUND_INPUTS: dict[str, Any] = {
    "previous_output": _MAYBE_FILE,
    "previous_errors": _MAYBE_FILE,
    "previous_table": _MAYBE_TABLE,
    "requests": _MAYBE_FILE,
    "history": str,
}
# While rounds remain, what a round returns besides its result: the next round's parts and inputs.
ROUND_OUTPUTS: dict[str, Any] = {
    "retry_parts": List[str],  # noqa: UP006
    "output": _MAYBE_FILE,
    "errors": _MAYBE_FILE,
    "table": _MAYBE_TABLE,
    "requests": _MAYBE_FILE,
    "history": str,
}
# Which of a round's outputs is which of the next round's inputs (`create_batch` wires them).
CARRIED: dict[str, str] = {
    "previous_output": "output",
    "previous_errors": "errors",
    "previous_table": "table",
    "requests": "requests",
    "history": "history",
}


class CollectResultsTask(OpenAIFileTask):
    """Downloads every part's results of a job into one output file and one error file.

    Its input `job_result` is the job task's result, ``{"batches": [batch, ...]}`` in part order (a
    single batch dict, as `BatchEndpointTask` returns it, is taken as a job of one part).

    With ``max_request_attempts`` above 1 or ``results_table``, the task is round ``attempt`` of a job
    whose failed requests are sent again (`job_rounds`): from round 2 on it also takes the round
    before's results (``previous_output``, ``previous_errors``, ``previous_table``), the job's
    ``requests`` and its ``history``; while rounds remain it also returns ``retry_parts`` (the next
    round's input files) and what the next round takes (``output``, ``errors``, ``table``,
    ``requests``, ``history``). The final round
    writes the results table (``BatchResult.table``) and the deck.
    """

    _COLLECT_TASK_TYPE = COLLECT_TASK_TYPE

    def __init__(
        self,
        name: str,
        task_config: OpenAIFileConfig,
        container_image: str | None = None,
        fail_on_missing_requests: bool = False,
        delete_input_files: bool = True,
        delete_result_files: bool = False,
        attempt: int = 1,
        max_request_attempts: int = 1,
        results_table: bool = False,
        prices: Mapping[str, Any] | None = None,
        limits: PartLimits | None = None,
        endpoint: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._task_settings = CollectSettings(
            task_config,
            fail_on_missing_requests,
            delete_input_files,
            delete_result_files,
            attempt=attempt,
            max_request_attempts=max_request_attempts,
            results_table=results_table,
            prices=parse_prices(prices),
            limits=limits or PartLimits(),
            endpoint=endpoint,
        )
        inputs: dict[str, Any] = {"job_result": dict}
        outputs: dict[str, Any] = {"result": BatchResult}
        if self._task_settings.attempt > 1:
            inputs.update(ROUND_INPUTS)
        if self._task_settings.attempt < self._task_settings.max_request_attempts:
            outputs.update(ROUND_OUTPUTS)
        if self._task_settings.sorts_rounds:
            # The deck is written in the pod too: the resolver's task says decks are on.
            kwargs.setdefault("enable_deck", True)
            kwargs.setdefault("task_resolver", deck_task_resolver)
        super().__init__(
            name=name,
            task_config=task_config,
            task_type=self._COLLECT_TASK_TYPE,
            executor_type=CollectResultsExecutor,
            container_image=container_image,
            interface=Interface(inputs=inputs, outputs=outputs),
            **kwargs,
        )

    def get_custom(self, settings: SerializationSettings) -> dict[str, Any]:
        return self._task_settings.to_custom()


class CollectResultsExecutor(ShimTaskExecutor[CollectResultsTask]):
    def execute_from_model(self, tt: TaskTemplate, **kwargs: Any) -> Any:
        settings = CollectSettings.from_custom(tt.custom, tt.id.name)
        workdir = Path(flytekit.current_context().working_directory)
        client, api_key = settings.file_config.client()
        if settings.sorts_rounds:
            with client:
                outcome = run_round(
                    client,
                    settings,
                    job_batches(kwargs["job_result"], allow_empty=settings.attempt > 1),
                    workdir,
                    previous=BatchResult(
                        kwargs.get("previous_output"),
                        kwargs.get("previous_errors"),
                        kwargs.get("previous_table"),
                    ),
                    requests=kwargs.get("requests"),
                    history=kwargs.get("history") or "",
                    api_key=api_key,
                )
            if settings.attempt == settings.max_request_attempts:
                return outcome.result
            return _round_outputs(tt, outcome)
        batches = job_batches(kwargs["job_result"])
        with client:  # releases its connection pool however the collection ends
            job = collect_job(
                client,
                batches,
                workdir,
                fail_on_missing_requests=settings.fail_on_missing_requests,
                delete_result_files=settings.delete_result_files,
                api_key=api_key,
            )
            if settings.delete_input_files:
                delete_files(client, [p.input_file_id for p in job.parts if p.input_file_id], api_key=api_key)
        return job.result()


def _round_outputs(tt: TaskTemplate, outcome: RoundOutcome) -> LiteralMap:
    """A round's outputs as a literal map: the executor would convert plain values by their runtime
    types, and ``list`` alone does not say its items are strings."""
    result = outcome.result
    values = {
        "result": result,
        "retry_parts": outcome.retry_parts,
        "output": result.output_file,
        "errors": result.error_file,
        "table": result.table,
        "requests": outcome.requests,
        "history": outcome.history,
    }
    types = {"result": BatchResult, **ROUND_OUTPUTS}
    ctx = FlyteContextManager.current_context()
    return LiteralMap(
        literals={
            name: TypeEngine.to_literal(ctx, value, types[name], tt.interface.outputs[name].type)
            for name, value in values.items()
        }
    )


class DeckTaskResolver(TaskTemplateResolver):
    """flytekit's task template resolver, whose task writes its decks in the pod (the default one's
    task has no deck switch, so a container task's deck would be dropped there)."""

    def load_task(self, loader_args: list[str]) -> ExecutableTemplateShimTask:
        task = super().load_task(loader_args)
        task.disable_deck = False  # what flytekit's entrypoint reads
        return task


deck_task_resolver = DeckTaskResolver()


def job_batches(job_result: Mapping[str, Any], *, allow_empty: bool = False) -> list[Mapping[str, Any]]:
    """The batches of a job result, in part order; a single batch dict is a job of one part.

    ``allow_empty``: a retry round with nothing to send has no batches.
    """
    if "batches" not in job_result:
        return [job_result]
    batches = job_result["batches"]
    if (
        not isinstance(batches, Sequence)
        or not all(isinstance(b, Mapping) for b in batches)
        or not (batches or allow_empty)
    ):
        raise BatchResultError(
            f"The job result's 'batches' must be a non-empty list of batch objects, got {batches!r:.200}"
        )
    return list(batches)


@dataclass(frozen=True)
class PartAccount:
    """What became of one part's requests."""

    index: int
    batch_id: str
    status: str
    input_file_id: str | None
    requests: int | None  # None when its input file could not be read and the batch gave no count
    succeeded: int
    failed: int
    missing: int
    missing_named: list[str]  # the first few missing custom_ids, in input order

    def summary(self, parts: int) -> str:
        requests = "? requests" if self.requests is None else counted(self.requests, "request")
        return (
            f"Part {self.index + 1} of {parts} (batch {self.batch_id}, {self.status}): {requests}: "
            f"{self.succeeded:,} succeeded, {self.failed:,} failed, {self.missing:,} missing"
        )


@dataclass
class JobCollection:
    """The job's two files (None when no part produced such a file) and each part's account."""

    output_path: Path | None = None
    error_path: Path | None = None
    parts: list[PartAccount] = field(default_factory=list)

    def result(self) -> BatchResult:
        return BatchResult(
            output_file=JSONLFile(str(self.output_path)) if self.output_path else None,
            error_file=JSONLFile(str(self.error_path)) if self.error_path else None,
        )

    def summary(self) -> str:
        unknown = any(p.requests is None for p in self.parts)
        requests = sum(p.requests or 0 for p in self.parts)
        return (
            f"Job of {counted(len(self.parts), 'part')}: {'at least ' if unknown else ''}"
            f"{counted(requests, 'request')}: {sum(p.succeeded for p in self.parts):,} succeeded, "
            f"{sum(p.failed for p in self.parts):,} failed, {sum(p.missing for p in self.parts):,} missing"
        )


def collect_job(
    client: Any,
    batches: Sequence[Mapping[str, Any]],
    directory: Path,
    *,
    fail_on_missing_requests: bool = False,
    delete_result_files: bool = False,
    api_key: str | None = None,
    workers: int = DOWNLOAD_WORKERS,
) -> JobCollection:
    """Stream every part's results into the job's two files; print each part's account and the totals.

    The next parts' files download (``workers`` parts at most, so the extra disk stays bounded) while
    the current part is counted and appended: the parts still join the job's files in part order.
    """
    job = JobCollection()

    def fetch(index: int, batch: Mapping[str, Any]) -> dict[str, Path]:
        fetched = {}
        for kind in ("output", "error"):
            file_id = batch.get(f"{kind}_file_id")
            if file_id:
                fetched[kind] = directory / f".part{index + 1}-{kind}.jsonl"
                download_file(client, file_id, fetched[kind], api_key=api_key)
        return fetched

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pending: deque[Future[dict[str, Path]]] = deque()
        ahead = iter(enumerate(batches))
        for index, batch in enumerate(batches):
            while len(pending) < workers and (following := next(ahead, None)) is not None:
                pending.append(pool.submit(fetch, *following))
            tally = RequestTally(expected=request_total(batch) or 0)
            try:
                fetched = pending.popleft().result()
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
            try:
                if "output" in fetched:
                    tally.add_file(str(fetched["output"]), f"the output file of part {index + 1}")
                    job.output_path = _append(fetched["output"], directory / OUTPUT_NAME, job.output_path)
                if "error" in fetched:
                    tally.add_file(str(fetched["error"]), f"the error file of part {index + 1}")
                    job.error_path = _append(fetched["error"], directory / ERROR_NAME, job.error_path)
                # The part's files stay until it is accounted for: naming missing ids reads them again.
                outcome = account_for_requests(
                    client, batch, tally, directory, fail_on_missing_requests=False, api_key=api_key
                )
            finally:
                for path in fetched.values():
                    path.unlink(missing_ok=True)
            account = PartAccount(
                index=index,
                batch_id=batch_label(batch),
                status=str(batch.get("status")),
                input_file_id=batch.get("input_file_id") or None,
                requests=outcome.requests if outcome else None,
                succeeded=outcome.succeeded if outcome else tally.succeeded,
                failed=outcome.failed - outcome.missing if outcome else tally.failed,
                missing=outcome.missing if outcome else 0,
                missing_named=outcome.missing_named if outcome else [],
            )
            job.parts.append(account)
            print(account.summary(len(batches)), flush=True)
            if account.status in PARTIAL_STATUSES:
                warn(
                    f"Part {index + 1} (batch {account.batch_id}) was {account.status} and is accepted with the "
                    f"results it has: {counted(account.succeeded, 'request')} succeeded, {account.failed:,} failed"
                )
            if delete_result_files:
                delete_files(
                    client,
                    [f for f in (batch.get("output_file_id"), batch.get("error_file_id")) if f],
                    api_key=api_key,
                )
    print(job.summary(), flush=True)
    _report_missing(job, fail_on_missing_requests)
    return job


def _report_missing(job: JobCollection, fail_on_missing_requests: bool) -> None:
    lost = [p for p in job.parts if p.missing]
    if not lost:
        return
    missing = sum(p.missing for p in lost)
    named = [repr(i) for p in lost for i in p.missing_named][:NAMED_MISSING]
    message = (
        f"{counted(missing, 'request')} of the job {'is' if missing == 1 else 'are'} in neither the output nor "
        f"the error file ({'part' if len(lost) == 1 else 'parts'} {', '.join(str(p.index + 1) for p in lost)}), "
        f"among them {', '.join(named)}"
    )
    if fail_on_missing_requests:
        raise BatchResultError(message + " (fail_on_missing_requests is set)")
    warn(message)


def _append(part: Path, job_file: Path, current: Path | None) -> Path:
    """Add a part's lines to the end of the job's file (started by the first part that has one)."""
    with open(part, "rb") as source, open(job_file, "ab" if current else "wb") as sink:
        shutil.copyfileobj(source, sink, READ_BUFFER)
        if sink.tell() and _last_byte(part) not in (b"", b"\n"):
            sink.write(b"\n")  # the next part's first line starts a line of its own
    return job_file


def _last_byte(path: Path) -> bytes:
    with open(path, "rb") as stream:
        if stream.seek(0, 2) == 0:
            return b""
        stream.seek(-1, 2)
        return stream.read(1)
