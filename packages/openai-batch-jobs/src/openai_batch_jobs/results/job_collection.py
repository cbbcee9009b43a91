"""One output file and one error file for a whole job, however many batches it ran as.

Each part's result files stream onto the end of the job's two files, in part order, while the next
parts download (`part_files.fetch_parts`), so memory stays flat and the extra disk a few parts'
worth. Every part is accounted for like a single batch's download (succeeded, failed, in neither
file), and the totals are printed. This joins the files as they are; sorting answers, final errors
and requests to send again is `resend`'s.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from openai_batch_jobs import interrupts
from openai_batch_jobs.api.batch_api import PARTIAL_STATUSES
from openai_batch_jobs.files.uploads import delete_files
from openai_batch_jobs.json_lines import READ_BUFFER, count_lines
from openai_batch_jobs.messages import counted, warn
from openai_batch_jobs.results.counts import RequestCounts, report_missing
from openai_batch_jobs.results.part_files import Download, batch_label, fetch_parts
from openai_batch_jobs.results.reconcile import RequestTally
from openai_batch_jobs.settings import CustomReader

OUTPUT_NAME = "job-output.jsonl"
ERROR_NAME = "job-errors.jsonl"

# How a part's requests are accounted for from its results (the batch, its tally): by the batch's own
# count, or against its input file (fetched for that); None when that cannot be said.
Account = Callable[[Mapping[str, Any], RequestTally], "RequestCounts | None"]


@dataclass(frozen=True)
class ServerCleanup:
    """What a collect step deletes on the server once it no longer needs it, and whether a request in
    neither result file fails the step; kept in a task's settings under these names."""

    delete_input_files: bool = True
    delete_result_files: bool = False
    fail_on_missing_requests: bool = False

    KEYS: ClassVar[tuple[str, ...]] = (
        "delete_input_files",
        "delete_result_files",
        "fail_on_missing_requests",
    )

    def to_custom(self) -> dict[str, bool]:
        return {key: getattr(self, key) for key in self.KEYS}

    @classmethod
    def from_reader(cls, reader: CustomReader) -> ServerCleanup:
        return cls(*(reader.boolean(key, getattr(cls(), key)) for key in cls.KEYS))


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

    def counts(self) -> RequestCounts:
        """The part's requests as every count reads them (``failed`` there includes ``missing``)."""
        return RequestCounts(
            requests=self.requests or 0,
            succeeded=self.succeeded,
            failed=self.failed + self.missing,
            missing=self.missing,
            missing_named=list(self.missing_named),
        )

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
    download: Download,
    account: Account,
    cleanup: ServerCleanup,
    api_key: str | None = None,
) -> JobCollection:
    """Stream every part's results into the job's two files; print each part's account and the totals.

    Then the server's files go as ``cleanup`` says: each part's result files once it is joined, the
    input files once every part is.
    """
    job = JobCollection()
    try:
        for part in fetch_parts(batches, directory, download):
            job.parts.append(_join(client, part, job, directory, account, cleanup, len(batches), api_key))
    except interrupts.Interrupted:
        _stop(client, job, batches, cleanup, api_key)
        raise
    print(job.summary(), flush=True)
    report_missing(
        RequestCounts.total(p.counts() for p in job.parts), "The job", fail=cleanup.fail_on_missing_requests
    )
    if cleanup.delete_input_files:
        delete_files(client, [p.input_file_id for p in job.parts if p.input_file_id], api_key=api_key)
    return job


def _join(
    client: Any,
    part: Any,
    job: JobCollection,
    directory: Path,
    account: Account,
    cleanup: ServerCleanup,
    parts: int,
    api_key: str | None,
) -> PartAccount:
    """One part's result files appended to the job's, accounted for, and (as asked) deleted."""
    batch = part.batch
    tally = RequestTally()
    try:
        if output := part.path("output"):
            job.output_path, alone = _append(Path(output), directory / OUTPUT_NAME, job.output_path)
            tally.add_file(str(alone), f"the output file of part {part.index + 1}")
        if error := part.path("error"):
            job.error_path, alone = _append(Path(error), directory / ERROR_NAME, job.error_path)
            tally.add_file(str(alone), f"the error file of part {part.index + 1}")
        # The part's lines stay where the tally read them until it is accounted for: naming missing
        # ids reads them again.
        outcome = account(batch, tally)
    finally:
        part.remove()
    joined = _part_account(part.index, batch, tally, outcome)
    print(joined.summary(parts), flush=True)
    _warn_partial(joined)
    if cleanup.delete_result_files:
        results = [batch.get("output_file_id"), batch.get("error_file_id")]
        delete_files(client, [str(f) for f in results if f], api_key=api_key)
    return joined


def _stop(
    client: Any,
    job: JobCollection,
    batches: Sequence[Mapping[str, Any]],
    cleanup: ServerCleanup,
    api_key: str | None,
) -> None:
    """A signal ends the collect step: keep the answers joined so far (said in the run's ending
    message) and delete the input files, which no one needs once the batches ended."""
    if job.output_path is not None:
        interrupts.note_kept("job", count_lines(str(job.output_path)), str(job.output_path))
    if cleanup.delete_input_files:
        inputs = [str(b["input_file_id"]) for b in batches if b.get("input_file_id")]
        delete_files(client, inputs, api_key=api_key)


def _part_account(
    index: int, batch: Mapping[str, Any], tally: RequestTally, outcome: RequestCounts | None
) -> PartAccount:
    return PartAccount(
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


def _warn_partial(part: PartAccount) -> None:
    if part.status in PARTIAL_STATUSES:
        warn(
            f"Part {part.index + 1} (batch {part.batch_id}) was {part.status} and is accepted with the results it "
            f"has: {counted(part.succeeded, 'request')} succeeded, {part.failed:,} failed"
        )


def _append(part: Path, job_file: Path, current: Path | None) -> tuple[Path, Path]:
    """Add a part's lines to the end of the job's file; the first part that has one becomes it (moved,
    not copied). Returns the job's file and a file holding the part's lines alone (until the next
    part is added)."""
    if current is None:
        os.replace(part, job_file)
        alone = job_file
    else:
        with open(part, "rb") as source, open(job_file, "ab") as sink:
            shutil.copyfileobj(source, sink, READ_BUFFER)
        alone = part
    if _last_byte(job_file) not in (b"", b"\n"):
        with open(job_file, "ab") as sink:
            sink.write(b"\n")  # the next part's first line starts a line of its own
    return job_file, alone


def _last_byte(path: Path) -> bytes:
    with open(path, "rb") as stream:
        if stream.seek(0, 2) == 0:
            return b""
        stream.seek(-1, 2)
        return stream.read(1)
