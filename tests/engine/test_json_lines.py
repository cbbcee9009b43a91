"""Reading JSONL files in blocks of whole lines, from any byte range."""

from __future__ import annotations

import random
from pathlib import Path

from openai_batch_jobs.json_lines import read_blocks


def test_blocks_are_whole_lines_of_the_range(tmp_path: Path) -> None:
    rng = random.Random(1)
    for trial in range(300):
        lines = [b"x" * rng.choice([0, 1, 5, 50, 300, 5000]) + b"\n" for _ in range(rng.randint(0, 60))]
        data = b"".join(lines) + (b'{"no": "newline"}' if rng.random() < 0.3 else b"")
        path = tmp_path / f"{trial}.jsonl"
        path.write_bytes(data)
        size = rng.choice([1, 7, 64, 1000, 1 << 17])
        starts = [0] + [i + 1 for i, byte in enumerate(data) if byte == ord("\n")]
        start = rng.choice(starts)
        end = rng.choice([None, *[s for s in starts if s >= start]])
        blocks = list(read_blocks(str(path), size, start, end))
        assert b"".join(blocks) == data[start:end], (trial, size, start, end)
        assert all(blocks)
        assert all(block.endswith(b"\n") for block in blocks[:-1])
        # A block is at most `size` bytes, unless a line longer than that began it.
        assert all(b"\n" not in block[: max(len(block) - size, 0)] for block in blocks)
