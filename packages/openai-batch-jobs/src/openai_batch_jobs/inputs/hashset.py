"""A set of 64-bit hashes in one flat array: how the JSONL readers tell whether custom_ids repeat.

A Python set of 50,000 custom_ids holds 50,000 string objects of 50 to 70 bytes each (a dict of them
to line numbers, more), allocated amid everything else and so not given back when it is dropped;
this holds 8 bytes a slot in one block. Distinct hashes prove distinct ids; an id whose hash is
already there is only a suspect (the same id, or a collision), which the caller settles exactly.
"""

from __future__ import annotations

from array import array

# Presizing trusts a caller's guess of the size only this far (it grows past it as needed).
MAX_PRESIZE = 1 << 20


class HashSet:
    """Open addressing with linear probing over ``hash()`` values, at most half full."""

    def __init__(self, expected: int = 0) -> None:
        self._slots = array("q", [0]) * 1024
        self._count = 0
        self.reserve(expected)

    def __len__(self) -> int:
        return self._count

    def add(self, value: int) -> bool:
        """Add ``value``; False when it was there already."""
        value = value or 1  # 0 marks an empty slot
        slots = self._slots
        mask = len(slots) - 1
        index = value & mask
        while (held := slots[index]) != 0:
            if held == value:
                return False
            index = (index + 1) & mask
        slots[index] = value
        self._count += 1
        if self._count * 2 > len(slots):
            self._grow(2 * len(slots))
        return True

    def add_all(self, values: list[int]) -> list[int]:
        """Add every value, in order; the positions of those that were there already (or earlier in
        ``values``). `add` for many values, with no call and no growth check per value."""
        if 0 in values:
            values = [value or 1 for value in values]
        self._make_room(self._count + len(values))
        slots = self._slots
        mask = len(slots) - 1
        repeats: list[int] = []
        for position, value in enumerate(values):
            index = value & mask
            while (held := slots[index]) != 0:
                if held == value:
                    repeats.append(position)
                    break
                index = (index + 1) & mask
            else:
                slots[index] = value
        self._count += len(values) - len(repeats)
        return repeats

    def reserve(self, expected: int) -> None:
        """Make room for ``expected`` values in all (at most `MAX_PRESIZE`), so few are moved as it grows."""
        self._make_room(min(expected, MAX_PRESIZE))

    def _make_room(self, values: int) -> None:
        size = len(self._slots)
        while size < 2 * values:
            size *= 2
        if size > len(self._slots):
            self._grow(size)

    def _grow(self, size: int) -> None:
        slots = array("q", [0]) * size
        mask = len(slots) - 1
        for value in self._slots:
            if value:
                index = value & mask
                while slots[index]:
                    index = (index + 1) & mask
                slots[index] = value
        self._slots = slots
