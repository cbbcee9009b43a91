"""A round sorted from its parts' keys files (written by the upload step as it cut the input, issue 27)
writes the same bytes as one sorted from the parts' input files, and reads a part's input file only
when one of its requests is sent again."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import openai
import pytest

from openai_batch_emulator import Emulator
from openai_batch_jobs.inputs.split import plan_parts
from openai_batch_jobs.results.resend import RoundPart, collect_round
from tests.support.rounds import (
    TRANSIENT_AND_PERMANENT,
    chat,
    emulator_settings,  # noqa: F401 (the fixture)
    run_parts,
    write_jsonl,
)

KINDS = ("output", "error", "resend", "keys")


def sort(parts: list[RoundPart], folder: Path, attempt: int, max_request_attempts: int) -> dict[str, bytes]:
    folder.mkdir()
    paths = {kind: folder / f"{kind}.jsonl" for kind in KINDS}
    collect_round(
        parts,
        attempt=attempt,
        max_request_attempts=max_request_attempts,
        **{f"{kind}_path": str(path) for kind, path in paths.items()},
    )
    return {kind: path.read_bytes() for kind, path in paths.items()}


def from_keys(parts: list[RoundPart], folder: Path, fetched: list[int]) -> list[RoundPart]:
    """The parts as round 1 gets them from the upload step: keys files, the input only on demand."""
    folder.mkdir()
    keyed = []
    for number, part in enumerate(parts, start=1):
        assert part.input_path is not None
        [keys] = plan_parts(part.input_path, keys_directory=str(folder)).keys

        def fetch(number: int = number, path: str = part.input_path) -> str:
            fetched.append(number)
            return path

        keyed.append(replace(part, input_path=None, keys_path=keys, fetch_input=fetch))
    return keyed


@pytest.mark.slow
@pytest.mark.parametrize(("attempt", "max_request_attempts"), [(1, 3), (1, 1), (3, 3)])
def test_a_round_sorted_from_keys_writes_what_one_sorted_from_inputs_writes(
    emulator: Emulator,
    openai_client: openai.OpenAI,
    tmp_path: Path,
    attempt: int,
    max_request_attempts: int,
) -> None:
    emulator.configure(fail_requests=TRANSIENT_AND_PERMANENT)
    # Part 1 all answered in order; part 2 with transient and permanent failures; part 3 answered
    # with a permanent failure only.
    ids = [[f"ok-{i:04d}-x" for i in range(300)], [f"req-{i:04d}" for i in range(300)], ["a-01", "b-55"]]
    inputs = [
        write_jsonl(tmp_path / f"part-{n}.jsonl", (chat(c, f"question {c}") for c in part_ids))
        for n, part_ids in enumerate(ids, start=1)
    ]
    parts, _ = run_parts(openai_client, inputs, tmp_path)
    fetched: list[int] = []

    expected = sort(parts, tmp_path / "from-inputs", attempt, max_request_attempts)
    got = sort(
        from_keys(parts, tmp_path / "keys", fetched), tmp_path / "from-keys", attempt, max_request_attempts
    )

    assert got == expected
    assert all(expected[kind] for kind in ("output", "error", "keys"))
    # Only part 2 has requests to send again, and only while attempts are left.
    assert fetched == ([2] if attempt < max_request_attempts else [])
    assert bool(expected["resend"]) == (attempt < max_request_attempts)
