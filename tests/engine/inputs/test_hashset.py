"""The flat hash set the JSONL readers use to tell repeated custom_ids."""

from __future__ import annotations

from openai_batch_jobs.inputs.hashset import HashSet


def test_values_sharing_a_slot_are_kept_apart_and_repeats_are_told() -> None:
    seen = HashSet()
    # 1024 slots to start with: these all land in slot 5 (and 0 stands for an empty slot).
    values = [5, 5 + 1024, 5 - 1024, 5 + 2**40, 0, -7]
    assert [seen.add(v) for v in values] == [True] * len(values)
    assert [seen.add(v) for v in values] == [False] * len(values)
    assert len(seen) == len(values)


def test_it_grows_past_its_first_size_and_keeps_every_value() -> None:
    seen = HashSet(expected=10)
    values = [hash(f"request-{i}") for i in range(5000)]
    assert all(seen.add(v) for v in values)
    assert not any(seen.add(v) for v in values)
    assert len(seen) == 5000


def test_adding_many_at_once_tells_the_positions_already_there_or_repeated_among_them() -> None:
    seen = HashSet()
    assert seen.add_all([5, 0, 5 + 1024]) == []
    assert seen.add_all([7, 5, 7, 0, 1, 9]) == [1, 2, 3, 4]  # 0 is kept as 1, as `add` keeps it
    assert len(seen) == 5
    values = [hash(f"request-{i}") for i in range(5000)]  # far past its first size
    assert seen.add_all(values) == []
    assert seen.add_all(values[::-1]) == list(range(5000))
    assert not any(seen.add(v) for v in values)
    assert len(seen) == 5005
