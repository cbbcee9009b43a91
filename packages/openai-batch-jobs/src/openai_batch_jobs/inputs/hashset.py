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
        size = 1024
        while size < 2 * min(expected, MAX_PRESIZE):
            size *= 2
        self._slots = array("q", bytes(8 * size))
        self._count = 0

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
            self._grow()
        return True

    def _grow(self) -> None:
        slots = array("q", bytes(16 * len(self._slots)))
        mask = len(slots) - 1
        for value in self._slots:
            if value:
                index = value & mask
                while slots[index]:
                    index = (index + 1) & mask
                slots[index] = value
        self._slots = slots
