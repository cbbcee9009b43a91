"""One round of a job's collect step when failed requests are sent again or a results table is asked for.

`create_batch` unrolls its job and collect steps ``max_request_attempts`` times. Round ``r``'s collect
step (`run_round`):

1. downloads the round's request files (its parts' input files) and result files;
2. sorts them with `request_retry.collect_round` into the job's output and error files so far (the
   previous round's, then this round's) and a retry file of the requests that failed transiently;
3. when there is something to retry and attempts remain, uploads the retry file as the next round's
   parts (cut within the same part limits the upload used), else it is the final round: it writes
   the results table and the summary (`job_results.summarize_job`), logs the summary as one JSON line
   and adds the deck (`report.publish_deck`);
4. deletes the round's input files on the server (``delete_input_files``) once the retry parts are up,
   and the result files it downloaded (``delete_result_files``).

What the next round needs travels as task outputs: the files so far (a `BatchResult`), the
requests' keys in input order (the table's row order: each request's custom_id and model, written by
round 1 as it sorts, `request_keys`; only with a results table, and only while rounds remain) and the
``history`` (JSON: each round's batches for the deck's timelines, where each round's lines begin in
the output and error files for the results table, and whether the job is done). A
round after the final one passes the final result on unchanged and finishes at once, as does its job
step (no parts, no batch).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flytekit.core.context_manager import FlyteContextManager
from flytekit.types.file import JSONLFile

from openai_batch_jobs.api.batch_api import PARTIAL_STATUSES
from openai_batch_jobs.errors import BatchResultError, TransferError
from openai_batch_jobs.inputs.split import plan_parts
from openai_batch_jobs.report.deck import render_deck
from openai_batch_jobs.report.job_results import summarize_job
from openai_batch_jobs.results.counts import missing_report
from openai_batch_jobs.results.request_retry import RoundPart, RoundReport, collect_round
from openai_batch_jobs.words import counted, warn

from .download import batch_label, download_file
from .report import publish_deck, table_dataset
from .result import BatchResult
from .settings import CollectSettings
from .upload import delete_files, upload_parts

OUTPUT_NAME = "job-output.jsonl"
ERROR_NAME = "job-errors.jsonl"
KEYS_NAME = "job-request-keys.jsonl"
DECK_FILE = "deck.html"
SUMMARY_PREFIX = "OpenAI batch job summary: "
# Parts whose files download at once (in a round, and ahead of the part being counted in `collect`).
DOWNLOAD_WORKERS = 3


@dataclass(frozen=True)
class RoundOutcome:
    """What a round's collect step returns: the files so far, the next round's parts, and what it carries."""

    result: BatchResult
    retry_parts: list[str]
    requests: JSONLFile | None
    history: str


def run_round(
    client: Any,
    settings: CollectSettings,
    batches: Sequence[Mapping[str, Any]],
    workdir: Path,
    *,
    previous: BatchResult | None = None,
    requests: JSONLFile | None = None,
    history: str = "",
    api_key: str | None = None,
) -> RoundOutcome:
    """Run round ``settings.attempt`` of the collect step (see the module's docstring)."""
    past = _history(history)
    if past["done"]:
        return RoundOutcome(previous or BatchResult(), [], None, history)
    attempt = settings.attempt
    directory = workdir / f"round{attempt}"
    directory.mkdir(parents=True, exist_ok=True)
    if attempt > 1 and requests is None and settings.results_table:
        raise BatchResultError(
            f"Round {attempt} of the collect step did not get the job's requests from round 1"
        )
    parts = _download_parts(client, batches, directory, api_key)
    retry_parts: list[str] = []
    try:
        retry_path = directory / f"{retry_stem(batches)}.jsonl"
        # Round 1 keeps each request's custom_id and model for the table (read while sorting).
        keys_path = directory / KEYS_NAME if settings.results_table and requests is None else None
        report = collect_round(
            parts,
            attempt=attempt,
            max_request_attempts=settings.max_request_attempts,
            output_path=str(directory / OUTPUT_NAME),
            error_path=str(directory / ERROR_NAME),
            retry_path=str(retry_path),
            previous_output=previous.output_file.download() if previous and previous.output_file else None,
            previous_errors=previous.error_file.download() if previous and previous.error_file else None,
            keys_path=str(keys_path) if keys_path else None,
        )
        _report(report, parts, settings)
        if report.retried:
            # A re-run of this step (a pod retried) first deletes what the run before uploaded.
            delete_files(client, earlier_uploads(client, retry_path.stem, batches), api_key=api_key)
            plan = plan_parts(str(retry_path), settings.limits, settings.endpoint)
            retry_parts = upload_parts(client, plan, api_key=api_key)
            print(
                f"Round {attempt}: sending {counted(report.retried, 'request')} again in round {attempt + 1} "
                f"as {counted(len(retry_parts), 'part')}",
                flush=True,
            )
        done = not retry_parts
        rounds = [*past["rounds"], [dict(b) for b in batches]]
        starts = [*past["starts"], [report.output_start, report.error_start]]
        result = _result(directory)
        # The table's rows follow the original requests: round 1's keys, passed on as they came since.
        keys = JSONLFile(str(keys_path)) if keys_path else requests
        carried = None if done else keys
        if done and keys is not None:
            result = _final(settings, result, keys.download(), directory, rounds, starts)
    except BaseException:
        # The next round will not run: its parts would be left on the server.
        delete_files(client, retry_parts, api_key=api_key)
        raise
    finally:
        # The parts' files were read; what the task returns (the job's files, the table) stays.
        for part in parts:
            for path in (part.input_path, part.output_path, part.error_path):
                if path:
                    Path(path).unlink(missing_ok=True)
    _delete_server_files(client, settings, batches, api_key)
    carried_history = json.dumps({"done": done, "rounds": rounds, "starts": starts})
    return RoundOutcome(result, retry_parts, carried, carried_history)


def retry_stem(batches: Sequence[Mapping[str, Any]]) -> str:
    """The name of a round's retry file: the same for every run of the round, and no other job's."""
    return f"retry-of-{(batches[0].get('id') if batches else None) or 'job'}"


def earlier_uploads(client: Any, stem: str, batches: Sequence[Mapping[str, Any]]) -> list[str]:
    """Files an earlier run of this round uploaded (named after `retry_stem`, newer than its batches).

    Lists the account's batch files newest first and stops at the round's first batch's creation.
    """
    since = min(int(b.get("created_at") or 0) for b in batches)
    found = []
    for file in client.files.list(purpose="batch", order="desc", limit=100):
        if int(file.created_at) < since:
            break
        if str(file.filename).startswith(stem):
            found.append(str(file.id))
    return found


def _history(history: str) -> dict[str, Any]:
    if not history:
        return {"done": False, "rounds": [], "starts": []}
    try:
        past = json.loads(history)
    except ValueError:
        past = None
    if not isinstance(past, dict) or not isinstance(past.get("rounds"), list):
        raise BatchResultError(
            f"The collect step's history is not what a round before wrote: {history[:200]!r}"
        )
    starts = past.get("starts")
    if not isinstance(starts, list) or len(starts) != len(past["rounds"]):
        raise BatchResultError(
            f"The collect step's history does not say where each round's results begin: {history[:200]!r}"
        )
    return {"done": bool(past.get("done")), "rounds": past["rounds"], "starts": starts}


def _download_parts(
    client: Any, batches: Sequence[Mapping[str, Any]], directory: Path, api_key: str | None
) -> list[RoundPart]:
    """Each part's request file and result files; parts side by side, each part's files in turn."""
    wanted: list[list[tuple[str, str, Path]]] = []
    parts: list[RoundPart] = []
    for index, batch in enumerate(batches, start=1):
        input_id = batch.get("input_file_id")
        if not input_id:
            raise BatchResultError(f"Part {index} of the job ({batch_label(batch)}) names no input file")
        paths: dict[str, str | None] = {}
        files = []
        for kind in ("input", "output", "error"):
            file_id = input_id if kind == "input" else batch.get(f"{kind}_file_id")
            if file_id:
                path = directory / f"part{index}-{kind}.jsonl"
                files.append(
                    (f"the {kind} file of part {index} (batch {batch_label(batch)})", str(file_id), path)
                )
                paths[kind] = str(path)
        wanted.append(files)
        parts.append(RoundPart(str(paths["input"]), batch, paths.get("output"), paths.get("error")))

    def fetch(files: list[tuple[str, str, Path]]) -> None:
        for what, file_id, path in files:
            try:
                download_file(client, file_id, path, api_key=api_key)
            except TransferError as e:
                raise TransferError(f"Could not download {what}: {e}") from None

    with ThreadPoolExecutor(max_workers=DOWNLOAD_WORKERS) as pool:
        for future in [pool.submit(fetch, files) for files in wanted]:
            future.result()
    return parts


def _report(report: RoundReport, parts: Sequence[RoundPart], settings: CollectSettings) -> None:
    for line in report.lines():
        print(line, flush=True)
    for number, part in enumerate(parts, start=1):
        status = str(part.batch.get("status"))
        if status in PARTIAL_STATUSES:
            warn(
                f"Part {number} (batch {batch_label(part.batch)}) was {status} and is accepted with the results "
                "it has; its unanswered requests "
                + (
                    "are sent again"
                    if settings.attempt < settings.max_request_attempts
                    else "are in the error file"
                )
            )
    if report.missing:
        message = (
            missing_report(report.totals, f"Round {settings.attempt}")
            + " (each has an error line with code missing_result)"
        )
        if settings.fail_on_missing_requests:
            raise BatchResultError(message + " (fail_on_missing_requests is set)")
        warn(message)


def _result(directory: Path) -> BatchResult:
    output, errors = directory / OUTPUT_NAME, directory / ERROR_NAME
    return BatchResult(
        output_file=JSONLFile(str(output)) if output.stat().st_size else None,
        error_file=JSONLFile(str(errors)) if errors.stat().st_size else None,
    )


def _final(
    settings: CollectSettings,
    result: BatchResult,
    keys: str,
    directory: Path,
    rounds: list[list[dict[str, Any]]],
    starts: list[list[int]],
) -> BatchResult:
    """The final round's results table, the summary in the log and the deck."""
    results = summarize_job(
        [keys],
        result.output_file.path if result.output_file else None,
        result.error_file.path if result.error_file else None,
        table_directory=str(directory / "table"),
        starts=[(output, errors) for output, errors in starts],
        rounds=rounds,
        prices=settings.prices,
        max_request_attempts=settings.max_request_attempts,
    )
    print(SUMMARY_PREFIX + json.dumps(results.summary, separators=(",", ":")), flush=True)
    publish_deck(results.summary)
    context = FlyteContextManager.current_context()
    if context.execution_state is not None and context.execution_state.is_local_execution():
        # A local run writes no deck for a container task: the page is written here, and said where.
        page = directory / DECK_FILE
        page.write_text(render_deck(results.summary), encoding="utf-8")
        print(f"The job's results deck: file://{page}", file=sys.stderr, flush=True)
    return BatchResult(
        output_file=result.output_file,
        error_file=result.error_file,
        table=table_dataset(results.table),
    )


def _delete_server_files(
    client: Any, settings: CollectSettings, batches: Sequence[Mapping[str, Any]], api_key: str | None
) -> None:
    if settings.delete_result_files:
        results = [b.get(f"{k}_file_id") for b in batches for k in ("output", "error")]
        delete_files(client, [str(f) for f in results if f], api_key=api_key)
    if settings.delete_input_files:
        delete_files(
            client, [str(b["input_file_id"]) for b in batches if b.get("input_file_id")], api_key=api_key
        )
