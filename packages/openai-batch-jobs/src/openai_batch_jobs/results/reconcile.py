"""Accounts for every request of one batch: succeeded, failed, or in neither result file.

A batch can finish (or expire, or be cancelled) with requests in neither file; without this check
they would silently vanish from the workflow's results. Each line is judged by
`result_lines.judge_result_line`, the rule the job's rounds sort by, so a 2xx line whose body carries
an error is a failure here as there. The result files are read once and compared with the batch's
own ``request_counts.total``: when they hold exactly that many requests, each once, and every line
names its request, none can be missing and the input file is not needed. Otherwise the input file is
read and each request looked up in a `ResultIndex` of the result files, as a round looks it up: a
repeated answer counts once, and a request without a line is settled by `Unanswered`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openai_batch_jobs.api.batch_api import batch_label
from openai_batch_jobs.inputs.request_keys import request_key
from openai_batch_jobs.json_lines import read_blocks, read_lines
from openai_batch_jobs.results.counts import RequestCounts
from openai_batch_jobs.results.result_index import ResultIndex, Unanswered
from openai_batch_jobs.results.result_lines import LineKind, answers_of, judge_result_line


class RequestTally:
    """Counts the result files' lines by kind; keeps only a hash of each custom_id, not the id itself.

    Distinct hashes prove distinct ids, so the hashes settle the usual case (every request once);
    a repeated hash (a repeated id, or a collision), or a line that names no request, sends the count
    to the input file. A tally is one batch's (at most 50,000 requests): its hashes are a set of
    ints, a few MB at most, added to in C.
    """

    def __init__(self) -> None:
        self.succeeded = 0
        self.failed = 0
        self.unnamed = 0  # unreadable lines whose custom_id cannot be recovered
        self.files: list[tuple[str, str]] = []  # (path, label) of each result file, in order
        self._hashes: set[int] = set()
        self._repeated = False

    def add_file(self, path: str, label: str) -> None:
        """Count the lines of an output or error file; ``label`` names it in messages.

        A block of lines that are all answers is decoded in one call (`answers_of`); the lines of any
        other block are judged one at a time."""
        self.files.append((path, label))
        hashes = self._hashes
        before = len(hashes)
        named = succeeded = 0
        for block in read_blocks(path):
            ids = answers_of(block)
            if ids is not None:
                named += len(ids)
                succeeded += len(ids)
                hashes.update(map(hash, ids))
                continue
            for raw in block.split(b"\n"):
                if not raw or raw.isspace():
                    continue
                line = judge_result_line(raw)
                if line.custom_id is None:
                    self.unnamed += 1
                    continue
                named += 1
                succeeded += line.kind is LineKind.SUCCEEDED
                hashes.add(hash(line.custom_id))
        self.succeeded += succeeded
        self.failed += named - succeeded
        self._repeated |= len(hashes) - before < named

    def accounts_for(self, total: int) -> bool:
        """Whether the result files hold ``total`` requests, each once: then none can be missing."""
        return not self._repeated and not self.unnamed and self.succeeded + self.failed == total


def request_total(batch: Mapping[str, Any]) -> int | None:
    """The batch's own count of its requests (``request_counts.total``), if it has one."""
    counts = batch.get("request_counts")
    total = counts.get("total") if isinstance(counts, Mapping) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def counted_requests(batch: Mapping[str, Any], tally: RequestTally) -> RequestCounts | None:
    """The account from the batch's own request count, or None when the input file must be read.

    That is when the count is absent, or when the result files do not hold exactly that many
    distinct requests (some are missing, a custom_id repeats, or a line names none).
    """
    total = request_total(batch)
    if total is None or not tally.accounts_for(total):
        return None
    return RequestCounts(requests=total, succeeded=tally.succeeded, failed=tally.failed)


def reconcile(input_path: str, tally: RequestTally, batch: Mapping[str, Any]) -> RequestCounts:
    """Each request of the input file (in order) looked up in the result files ``tally`` read."""
    counts = RequestCounts()
    with ResultIndex() as index:
        scans = [index.add_file(path, label) for path, label in tally.files]
        unanswered = Unanswered(batch, batch_label(batch), str(batch.get("status") or "unknown"), scans)
        for raw in read_lines(input_path):
            custom_id = request_key(raw)[0]
            if not isinstance(custom_id, str):
                continue
            counts.requests += 1
            found = index.find(custom_id)
            if found is None and unanswered.missing:
                counts.add_missing(custom_id)
            elif found is not None and found.kind is LineKind.SUCCEEDED:
                counts.succeeded += 1
            else:
                counts.failed += 1
    return counts
