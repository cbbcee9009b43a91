"""One finished batch's results: its output and error files downloaded, and every request accounted for.

What the seed's download task does, with no framework: `require_result_files` refuses a batch with
nothing to fetch (before any key is read), `download_batch_results` fetches what the batch produced
and prints its account (`reconcile`), warning, or failing with ``fail_on_missing_requests``, about
requests in neither file (`counts.report_missing`, as the job's rounds report them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openai_batch_jobs.api.batch_api import batch_error_text, batch_errors, batch_label
from openai_batch_jobs.api.redact import redact
from openai_batch_jobs.errors import BatchResultError, TransferError
from openai_batch_jobs.files.download import download_file
from openai_batch_jobs.messages import warn
from openai_batch_jobs.results.counts import RequestCounts, report_missing
from openai_batch_jobs.results.reconcile import RequestTally, counted_requests, reconcile


@dataclass(frozen=True)
class BatchFiles:
    """The local result files of a batch (None for a file it did not produce) and its account.

    ``counts`` is None when the requests could not be counted (no input file to name the missing ones).
    """

    output_path: Path | None
    error_path: Path | None
    counts: RequestCounts | None


def require_result_files(batch: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The batch's output and error file ids; a batch with neither is an error naming it and its status."""
    output_id = batch.get("output_file_id") or None
    error_id = batch.get("error_file_id") or None
    if not output_id and not error_id:
        errors = f" (errors: {batch_error_text(batch)})" if batch_errors(batch) else ""
        raise BatchResultError(
            f"Batch {batch_label(batch)} (status {batch.get('status')!r}) produced neither an output file nor "
            f"an error file{errors}; there is nothing to download."
        )
    return output_id, error_id


def download_batch_results(
    client: Any,
    batch: Mapping[str, Any],
    directory: Path,
    *,
    fail_on_missing_requests: bool = False,
    api_key: str | None = None,
) -> BatchFiles:
    """Download whichever result files the batch produced into ``directory``, then account for its requests."""
    batch_id = batch_label(batch)
    output_id, error_id = require_result_files(batch)
    tally = RequestTally()
    paths: dict[str, Path] = {}
    for kind, file_id in (("output", output_id), ("error", error_id)):
        if file_id:
            paths[kind] = directory / f"{batch_id}-{kind}.jsonl"
            download_file(client, file_id, paths[kind], api_key=api_key)
            tally.add_file(str(paths[kind]), f"the {kind} file of batch {batch_id}")
    counts = account_for_requests(
        client, batch, tally, directory, fail_on_missing_requests=fail_on_missing_requests, api_key=api_key
    )
    if counts is not None:
        # Printed, not logged: pyflyte shows only CRITICAL logs by default, and this count always matters.
        print(f"Batch {batch_id}: {counts.text()}", flush=True)
        report_missing(counts, f"Batch {batch_id}", fail=fail_on_missing_requests)
    return BatchFiles(paths.get("output"), paths.get("error"), counts)


def account_for_requests(
    client: Any,
    batch: Mapping[str, Any],
    tally: RequestTally,
    directory: Path,
    *,
    fail_on_missing_requests: bool = False,
    api_key: str | None = None,
) -> RequestCounts | None:
    """Account for a batch's requests from its results (in ``tally``): by the batch's own count when
    the files agree with it, else against its input file, fetched for that.

    None (after a warning) when the input cannot be read, unless ``fail_on_missing_requests``.
    """
    batch_id = batch_label(batch)
    counted = counted_requests(batch, tally)
    if counted is not None:
        return counted
    input_id = batch.get("input_file_id")
    so_far = f"Batch {batch_id}: {tally.succeeded} succeeded, {tally.failed} failed"
    if not input_id:
        warn(
            f"{so_far}; no input_file_id in the batch, so requests missing from both files cannot be counted"
        )
        return None
    input_path = directory / f".{batch_id}-input.jsonl"
    try:
        download_file(client, input_id, input_path, api_key=api_key)
        return reconcile(str(input_path), tally, batch)
    except (TransferError, OSError) as e:
        # The results are already downloaded: losing them because the input (only needed for
        # counting) was deleted or unreachable helps nobody, unless the count was asked for.
        reason = redact(str(e), api_key)
        if fail_on_missing_requests:
            raise BatchResultError(
                f"Batch {batch_id}: cannot read its input file {input_id} to check that no request is "
                f"missing, and fail_on_missing_requests is set: {reason}"
            ) from None
        warn(
            f"{so_far}; cannot read its input file {input_id} ({reason}), so requests missing from both "
            "result files are not counted"
        )
        return None
    finally:
        input_path.unlink(missing_ok=True)
