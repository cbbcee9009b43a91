"""The status line of local runs: rewritten on a terminal, sparse in a log, never wider than 80 columns."""

from __future__ import annotations

import io

from openai_batch_jobs.job.progress import WIDTH, ProgressLine, elapsed_text


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def batch_info(status: str, completed: int, total: int = 10) -> dict[str, object]:
    return {"status": status, "request_counts": {"total": total, "completed": completed, "failed": 1}}


def test_a_log_gets_a_line_per_status_change_and_every_interval() -> None:
    log, clock = io.StringIO(), Clock()
    line = ProgressLine("my-task", stream=log, interval_s=30.0, clock=clock)
    for now, status, done in [
        (1, "validating", 0),
        (2, "in_progress", 1),
        (3, "in_progress", 2),
        (40, "in_progress", 5),
        (45, "completed", 10),
    ]:
        clock.now = now
        line.update(batch_info(status, done), "RUNNING")
    assert log.getvalue().splitlines() == [
        "my-task: validating, 0/10 done, 1 failed, 1s",
        "my-task: in_progress, 1/10 done, 1 failed, 2s",
        "my-task: in_progress, 5/10 done, 1 failed, 40s",
        "my-task: completed, 10/10 done, 1 failed, 45s",
    ]


def test_a_terminal_line_is_rewritten_in_place_and_ended() -> None:
    tty = Terminal()
    line = ProgressLine("t", stream=tty, clock=Clock())
    line.update(batch_info("in_progress", 1), "RUNNING")
    line.update(batch_info("in_progress", 2), "RUNNING")
    line.close()
    assert tty.getvalue().count("\r") == 2
    assert tty.getvalue().endswith("\n")
    assert "\n" not in tty.getvalue()[:-1]


def test_a_job_line_shows_parts_and_a_long_name_gives_way() -> None:
    log = io.StringIO()
    line = ProgressLine("x" * 200, stream=log, clock=Clock())
    info = {
        "parts": {"total": 40, "done": 12, "running": 8, "not_started": 20},
        "request_counts": {"total": 10**6, "completed": 123456, "failed": 7},
    }
    line.update(info, "RUNNING")
    (text,) = log.getvalue().splitlines()
    assert len(text) < WIDTH
    assert text.endswith("~: parts 12/40 (8 running, 20 queued), 123456/1000000 done, 7 failed, 0s")


def test_elapsed_reads_short() -> None:
    assert [elapsed_text(s) for s in (5, 65, 3600 * 2 + 7 * 60 + 5)] == ["5s", "1m05s", "2h07m"]
