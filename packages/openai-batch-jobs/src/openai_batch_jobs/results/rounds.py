"""One round of a job's collect step, when failed requests are sent again or a results table is asked for.

A job runs in rounds (at most ``max_request_attempts``). Round ``r``'s collect step (`run_round`):

1. downloads the round's result files and request files (`fetch_parts`): a part's input file only
   when it has no keys file (``part_keys``, written by the upload step as it cut the input), or when
   one of its requests is sent again;
2. sorts them with `resend.collect_round` into the job's output and error files so far (the
   previous round's, then this round's) and a resend file of the requests that failed transiently;
3. when there is something to send again and attempts remain, uploads the resend file as the next
   round's parts (cut within the same part limits the upload used); else it is the final round: it writes
   the results table and the summary (`job_report.summarize_job`) and logs the summary as one line;
4. deletes the round's input files on the server (``delete_input_files``) once the resend parts are
   up, and the result files it downloaded (``delete_result_files``).

What the next round needs is `RoundFiles`: the files so far, the requests' keys in input order (the
table's row order: each request's custom_id and model, written by round 1 as it sorts; only with a
results table) and each round's `RoundRecord`. A framework passes them on however it carries files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from openai_batch_jobs import interrupts
from openai_batch_jobs.api.batch_api import PARTIAL_STATUSES
from openai_batch_jobs.errors import BatchResultError
from openai_batch_jobs.files.uploads import delete_files
from openai_batch_jobs.inputs.split import PartLimits, plan_parts
from openai_batch_jobs.json_lines import count_lines
from openai_batch_jobs.messages import counted, warn
from openai_batch_jobs.recovery.resume import earlier_uploads, resend_stem, upload_claim, upload_once
from openai_batch_jobs.report.job_report import JobResults, summarize_job
from openai_batch_jobs.report.prices import ModelPrice, parse_prices, prices_to_custom
from openai_batch_jobs.results.counts import report_missing
from openai_batch_jobs.results.job_collection import ERROR_NAME, OUTPUT_NAME, ServerCleanup
from openai_batch_jobs.results.job_result import RoundRecord
from openai_batch_jobs.results.part_files import Download, PartFiles, batch_label, fetch_parts
from openai_batch_jobs.results.resend import RoundReport, check_attempts, collect_round
from openai_batch_jobs.settings import CustomReader

KEYS_NAME = "job-request-keys.jsonl"
SUMMARY_PREFIX = "OpenAI batch job summary: "


@dataclass(frozen=True)
class RoundRules:
    """Which round this is and what the job asked of its rounds.

    ``attempt`` is the round (from 1) of ``max_request_attempts``; with more than one round, or with
    ``results_table``, the collect step sorts each round (`sorts_results`) and uploads the requests to
    send again as parts within ``limits`` for ``endpoint``. ``prices`` are laid over the built-in
    Batch price table for the summary's cost estimate.
    """

    attempt: int = 1
    max_request_attempts: int = 1
    results_table: bool = False
    prices: Mapping[str, ModelPrice] = field(default_factory=dict)
    limits: PartLimits = field(default_factory=PartLimits)
    endpoint: str | None = None

    KEYS: ClassVar[tuple[str, ...]] = (
        "attempt",
        "max_request_attempts",
        "results_table",
        "prices",
        "part_limits",
        "endpoint",
    )

    def __post_init__(self) -> None:
        check_attempts(self.attempt, self.max_request_attempts)

    def to_custom(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "max_request_attempts": self.max_request_attempts,
            "results_table": self.results_table,
            "prices": prices_to_custom(self.prices),
            "part_limits": self.limits.to_custom(),
            "endpoint": self.endpoint,
        }

    @classmethod
    def from_reader(cls, reader: CustomReader) -> RoundRules:
        try:
            return cls(
                attempt=reader.integer("attempt", 1),
                max_request_attempts=reader.integer("max_request_attempts", 1),
                results_table=reader.boolean("results_table", False),
                prices=parse_prices(reader.mapping("prices")),
                limits=PartLimits.from_custom(reader.mapping("part_limits"), task=reader.task),
                endpoint=reader.optional_str("endpoint"),
            )
        except ValueError as e:
            raise reader.error(str(e)) from None

    @property
    def sorts_results(self) -> bool:
        """Whether a round's results are sorted into answers, final errors and requests to send again
        (else the parts' files are joined as they are)."""
        return self.max_request_attempts > 1 or self.results_table

    @property
    def last(self) -> bool:
        return self.attempt == self.max_request_attempts

    def next(self) -> RoundRules:
        return replace(self, attempt=self.attempt + 1)


@dataclass(frozen=True)
class RoundFiles:
    """What a round hands to the next: local paths of the job's files so far (None: no such file)."""

    output: str | None = None
    errors: str | None = None
    keys: str | None = None  # the requests' custom_ids and models, in input order (for the table)
    rounds: Sequence[RoundRecord] = ()


@dataclass(frozen=True)
class RoundOutcome:
    """The job's files after this round, the next round's parts (none: the job is done) and, when
    this round ended the job with a table, its table and summary."""

    files: RoundFiles
    resend_parts: list[str]
    results: JobResults | None = None


def run_round(
    client: Any,
    batches: Sequence[Mapping[str, Any]],
    directory: Path,
    rules: RoundRules,
    *,
    download: Download,
    previous: RoundFiles,
    cleanup: ServerCleanup,
    api_key: str | None = None,
    resumable: bool = False,
    part_keys: Sequence[str] | None = None,
) -> RoundOutcome:
    """Run round ``rules.attempt`` of the collect step (see the module's docstring); `resumable` (a
    local run) uses again the resend parts a killed run of this round uploaded (`recovery.resume`).
    ``part_keys``: each part's keys file (`request_keys.PartKeys`), in part order, when known."""
    attempt = rules.attempt
    _check_inputs(batches, rules, previous, part_keys)
    directory.mkdir(parents=True, exist_ok=True)
    parts: list[PartFiles] = []
    resend_parts: list[str] = []
    try:
        _fetch(parts, batches, directory, download, attempt, part_keys is None)
        resend_path = directory / f"{resend_stem(batches)}.jsonl"
        # Round 1 keeps each request's custom_id and model for the table (read while sorting).
        keys_path = directory / KEYS_NAME if rules.results_table and previous.keys is None else None
        report = collect_round(
            [p.round_part(part_keys[p.index] if part_keys else None, directory, download) for p in parts],
            attempt=attempt,
            max_request_attempts=rules.max_request_attempts,
            output_path=str(directory / OUTPUT_NAME),
            error_path=str(directory / ERROR_NAME),
            resend_path=str(resend_path),
            previous_output=previous.output,
            previous_errors=previous.errors,
            keys_path=str(keys_path) if keys_path else None,
        )
        _report(report, parts, rules, cleanup.fail_on_missing_requests)
        if report.resent:
            resend_parts = _upload_resends(
                client, resend_path, batches, rules, report.resent, api_key, resumable
            )
        files = _files_after(report, batches, directory, keys_path, previous)
        results = None if resend_parts or files.keys is None else _final(rules, files, directory)
    except BaseException as exc:
        # The next round will not run: its parts would be left on the server.
        delete_files(client, resend_parts, api_key=api_key)
        if isinstance(exc, KeyboardInterrupt):
            _stop(client, cleanup, batches, parts, previous, api_key)
        raise
    finally:
        # The parts' files were read; what the step returns (the job's files, the table) stays.
        for part in parts:
            part.remove()
    if files.output:
        interrupts.note_kept("job", report.output_start + report.succeeded, files.output)
    _delete_server_files(client, cleanup, batches, batches, api_key)
    return RoundOutcome(files, resend_parts, results)


def _files_after(
    report: RoundReport,
    batches: Sequence[Mapping[str, Any]],
    directory: Path,
    keys_path: Path | None,
    previous: RoundFiles,
) -> RoundFiles:
    """The job's files once this round is sorted, with its record added to the rounds'."""
    record = RoundRecord([dict(b) for b in batches], report.output_start, report.error_start)
    return RoundFiles(
        output=str(directory / OUTPUT_NAME) if (directory / OUTPUT_NAME).stat().st_size else None,
        errors=str(directory / ERROR_NAME) if (directory / ERROR_NAME).stat().st_size else None,
        # The table's rows follow the original requests: round 1's keys, passed on as they came since.
        keys=str(keys_path) if keys_path else previous.keys,
        rounds=[*previous.rounds, record],
    )


def _check_inputs(
    batches: Sequence[Mapping[str, Any]],
    rules: RoundRules,
    previous: RoundFiles,
    part_keys: Sequence[str] | None,
) -> None:
    """Refuse a round that lacks what it needs: round 1's request keys (for the table), each part's
    input, a keys file for each part when any."""
    if rules.attempt > 1 and previous.keys is None and rules.results_table:
        raise BatchResultError(
            f"Round {rules.attempt} of the collect step did not get the job's requests from round 1"
        )
    for number, batch in enumerate(batches, start=1):
        if not batch.get("input_file_id"):
            raise BatchResultError(f"Part {number} of the job ({batch_label(batch)}) names no input file")
    if part_keys is not None and len(part_keys) != len(batches):
        raise BatchResultError(f"The job has {len(batches)} parts but {len(part_keys)} keys files")


def _fetch(
    parts: list[PartFiles],
    batches: Sequence[Mapping[str, Any]],
    directory: Path,
    download: Download,
    attempt: int,
    inputs: bool,
) -> None:
    """Download the round's files into `parts` part by part (so that a signal finds those done),
    saying each part's arrival; the input files with ``inputs``."""
    print(f"Round {attempt}: downloading the files of {counted(len(batches), 'part')}", flush=True)
    kinds = ("input", "output", "error") if inputs else ("output", "error")
    for part in fetch_parts(batches, directory, download, kinds=kinds):
        parts.append(part)
        print(f"Round {attempt}: downloaded part {part.index + 1} of {len(batches)}", flush=True)


def _stop(
    client: Any,
    cleanup: ServerCleanup,
    batches: Sequence[Mapping[str, Any]],
    parts: Sequence[PartFiles],
    previous: RoundFiles,
    api_key: str | None,
) -> None:
    """A signal ends the round: keep the answers downloaded so far (said in the run's ending message)
    and delete the round's input files and, with ``delete_result_files``, the result files downloaded."""
    if previous.output:
        interrupts.note_kept("job", count_lines(previous.output), previous.output)
    for part in parts:
        output = part.paths.pop("output", None)
        if output is not None:
            interrupts.note_kept(str(output), count_lines(str(output)), str(output))
    _delete_server_files(client, cleanup, batches, [p.batch for p in parts], api_key)


def _upload_resends(
    client: Any,
    resend_path: Path,
    batches: Sequence[Mapping[str, Any]],
    rules: RoundRules,
    resent: int,
    api_key: str | None,
    resumable: bool,
) -> list[str]:
    plan = plan_parts(str(resend_path), rules.limits, rules.endpoint)
    limits = {"part_limits": rules.limits.to_custom(), "endpoint": rules.endpoint}
    held = upload_claim(client, "retry", str(resend_path), limits) if resumable else None
    if held is None or not held.left.get("file_ids"):
        # A re-run of this step (Flyte retried its pod) first deletes what the run before uploaded.
        delete_files(client, earlier_uploads(client, resend_path.stem, batches), api_key=api_key)
    resend_parts = upload_once(client, plan, held, api_key=api_key)
    print(
        f"Round {rules.attempt}: sending {counted(resent, 'request')} again in round {rules.attempt + 1} "
        f"as {counted(len(resend_parts), 'part')}",
        flush=True,
    )
    return resend_parts


def _report(
    report: RoundReport, parts: Sequence[PartFiles], rules: RoundRules, fail_on_missing_requests: bool
) -> None:
    for line in report.lines():
        print(line, flush=True)
    for part in parts:
        status = str(part.batch.get("status"))
        if status in PARTIAL_STATUSES:
            warn(
                f"Part {part.index + 1} (batch {batch_label(part.batch)}) was {status} and is accepted with the "
                "results it has; its unanswered requests "
                + ("are in the error file" if rules.last else "are sent again")
            )
    report_missing(
        report.totals,
        f"Round {rules.attempt}",
        " (each has an error line with code missing_result)",
        fail=fail_on_missing_requests,
    )


def _final(rules: RoundRules, files: RoundFiles, directory: Path) -> JobResults:
    """The final round's results table and the summary, which is also logged as one JSON line."""
    assert files.keys is not None
    results = summarize_job(
        [files.keys],
        files.output,
        files.errors,
        table_directory=str(directory / "table"),
        starts=[(r.output_start, r.error_start) for r in files.rounds],
        rounds=[r.batches for r in files.rounds],
        prices=rules.prices,
        max_request_attempts=rules.max_request_attempts,
    )
    print(SUMMARY_PREFIX + json.dumps(results.summary, separators=(",", ":")), flush=True)
    return results


def _delete_server_files(
    client: Any,
    cleanup: ServerCleanup,
    inputs_of: Sequence[Mapping[str, Any]],
    results_of: Sequence[Mapping[str, Any]],
    api_key: str | None,
) -> None:
    """The input files of the batches `inputs_of` and the result files of `results_of`, as
    `cleanup` asks."""
    if cleanup.delete_result_files:
        results = [b.get(f"{k}_file_id") for b in results_of for k in ("output", "error")]
        delete_files(client, [str(f) for f in results if f], api_key=api_key)
    if cleanup.delete_input_files:
        delete_files(
            client, [str(b["input_file_id"]) for b in inputs_of if b.get("input_file_id")], api_key=api_key
        )
