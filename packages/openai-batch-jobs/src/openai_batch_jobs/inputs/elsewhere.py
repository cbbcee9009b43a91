"""`plan_parts` in a child process, on another core, while the caller goes on with its own work.

The upload step validates the whole file before it uploads anything, then imports the SDK and checks
the connector's key (half a second of Python, which upstream pays too). The validation pass is
Python as well (0.1 s at 18 MB, 0.3 s at 200 MB): in one process the two take turns on one core
(the GIL), in two they overlap. `PlanElsewhere` starts ``python -m
openai_batch_jobs.inputs.elsewhere`` on the file and `PlanElsewhere.result` waits for its plan; a
file that fails validation raises the same `InvalidRequestFile` as `plan_parts` would. Nothing is
uploaded before `result` returns, as before.

The child is worth its start (some 70 ms of CPU) only with a second core to run on and a file that
takes longer than that to check: otherwise, and whenever the child cannot give a plan (it could not
start, or failed for another reason), `result` runs `plan_parts` here, which gives the same plan or
raises the same error.
"""

from __future__ import annotations

import os
import subprocess
import sys

import msgspec

from openai_batch_jobs.errors import InvalidRequestFile
from openai_batch_jobs.inputs.limits import PartLimits
from openai_batch_jobs.inputs.split import SplitPlan, plan_parts
from openai_batch_jobs.recovery.journal import file_digest

# Files smaller than this are checked in the caller's process (a child would cost more than it saves).
MIN_BYTES = 4 << 20


class _Job(msgspec.Struct):
    path: str
    limits: PartLimits
    endpoint: str | None
    keys_directory: str | None = None
    sha256: bool = False


class _Outcome(msgspec.Struct):
    plan: SplitPlan | None = None
    invalid: tuple[str, list[str], int] | None = None  # InvalidRequestFile's path, problems, total
    sha256: str | None = None


class PlanElsewhere:
    """`plan_parts(path, limits, endpoint, keys_directory)`, started in a child process when that pays:
    the caller has work of its own to do meanwhile (``alongside``), a second core, and a file big enough."""

    def __init__(
        self,
        path: str,
        limits: PartLimits,
        endpoint: str | None,
        *,
        alongside: bool,
        keys_directory: str | None = None,
        sha256: bool = False,
    ) -> None:
        self._job = _Job(path, limits, endpoint, keys_directory, sha256)
        self._child: subprocess.Popen[bytes] | None = None
        self._sha256: str | None = None
        if alongside and _cores() > 1 and _size(path) >= MIN_BYTES:
            try:
                self._child = subprocess.Popen(
                    [sys.executable, "-m", __name__],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
                assert self._child.stdin is not None
                self._child.stdin.write(msgspec.json.encode(self._job))
                self._child.stdin.close()
            except OSError:  # no interpreter to start, or it died at once: checked here instead
                self.close()

    def result(self) -> SplitPlan:
        """The plan; raises `InvalidRequestFile` (or what `plan_parts` raises) for a file it refuses."""
        outcome = self._outcome()
        if outcome is not None and outcome.plan is not None:
            self._sha256 = outcome.sha256
            return outcome.plan
        if outcome is not None and outcome.invalid is not None:
            raise InvalidRequestFile(*outcome.invalid)
        return plan_parts(self._job.path, self._job.limits, self._job.endpoint, self._job.keys_directory)

    def sha256(self) -> str:
        """The file's sha256 (hex): the child's, computed after the plan (on its core, not against the
        caller's work) when it was asked for; else computed here."""
        if self._sha256 is None:
            self._sha256 = file_digest(self._job.path)
        return self._sha256

    def close(self) -> None:
        """Stop the child if it still runs (the step ended another way)."""
        if self._child is not None:
            if self._child.poll() is None:
                self._child.kill()
            self._child.wait()
            for stream in (self._child.stdin, self._child.stdout):
                if stream is not None:
                    stream.close()
            self._child = None

    def __enter__(self) -> PlanElsewhere:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _outcome(self) -> _Outcome | None:
        if self._child is None:
            return None
        try:
            assert self._child.stdout is not None
            out = self._child.stdout.read()
            if self._child.wait() != 0:
                return None
            return msgspec.json.decode(out, type=_Outcome)
        except (OSError, msgspec.DecodeError):
            return None
        finally:
            self.close()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this system (macOS, Windows)
        return os.cpu_count() or 1


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0  # plan_parts names the problem


def _main() -> None:
    job = msgspec.json.decode(sys.stdin.buffer.read(), type=_Job)
    try:
        outcome = _Outcome(plan=plan_parts(job.path, job.limits, job.endpoint, job.keys_directory))
        if job.sha256:
            outcome.sha256 = file_digest(job.path)
    except InvalidRequestFile as exc:
        outcome = _Outcome(invalid=(exc.path, exc.problems, exc.total))
    sys.stdout.buffer.write(msgspec.json.encode(outcome))


if __name__ == "__main__":
    _main()
