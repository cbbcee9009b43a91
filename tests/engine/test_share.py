"""Most of the plugins is the engine: the Flyte faces stay thin.

The share is of Python lines under every package's `src/` but the emulator's (a server of its own);
the engine's are those importable with flytekit blocked (`test_no_flyte`). Run with `-s` to see it.
"""

from __future__ import annotations

from pathlib import Path

PACKAGES = Path(__file__).resolve().parents[2] / "packages"
ENGINE = "openai-batch-jobs"
# Issue 22: at least 60% of the plugins' lines in the engine.
MIN_SHARE = 0.60


def lines(package: Path) -> int:
    return sum(len(p.read_text(encoding="utf-8").splitlines()) for p in (package / "src").rglob("*.py"))


def test_the_engine_holds_most_of_the_plugins_lines() -> None:
    counts = {p.name: lines(p) for p in PACKAGES.iterdir() if p.name != "openai-batch-emulator"}
    share = counts[ENGINE] / sum(counts.values())
    print(f"engine {counts[ENGINE]:,} of {sum(counts.values()):,} lines ({share:.1%}): {counts}")
    assert share >= MIN_SHARE
