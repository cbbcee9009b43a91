"""How the plugins word what they tell a user: counts, and warnings that must be seen.

pyflyte logs only CRITICAL by default, so a warning a user needs (requests lost, a download tried
again, a batch accepted with part of its results) goes to stderr, where a run's output goes.
"""

from __future__ import annotations

import sys


def counted(n: int, noun: str) -> str:
    """``1 request``, ``2 requests``, ``50,000 requests``."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def warn(message: str) -> None:
    """A warning on stderr, seen at pyflyte's default log level."""
    print(f"WARNING: {message}", file=sys.stderr, flush=True)
