"""Forwarding mode: batches are answered by an OpenAI-compatible server instead of made up.

`ForwardOptions` is everything a server needs to forward (see the package README, "Forwarding"). The
upstream's key comes from the environment variable OPENAI_FORWARD_API_KEY only: never from a client's
request, so a client of the batch server never learns it nor chooses it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

KEY_VARIABLE = "OPENAI_FORWARD_API_KEY"


def _key_from_environment() -> str | None:
    return os.environ.get(KEY_VARIABLE) or None


@dataclass(frozen=True)
class ForwardOptions:
    """Where and how fast to forward. Defaults suit one self-hosted server; retries wait seconds."""

    url: str
    # Requests in flight at once, over all batches: the upstream's capacity, not the batch's size.
    concurrency: int = 16
    # Requests started per second over all batches; 0 for no limit.
    requests_per_second: float = 0.0
    # Attempts per request when the upstream answers 408/409/429/5xx or no answer comes back.
    attempts: int = 5
    # First wait between attempts, doubled each time up to max_backoff_seconds (Retry-After honoured
    # up to that bound): the five default attempts span about eight seconds.
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 8.0
    # One attempt's limit: a long generation on a loaded server takes minutes.
    timeout_seconds: float = 600.0
    api_key: str | None = field(default_factory=_key_from_environment, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"the upstream URL must start with http:// or https://, got {self.url!r}")
        if self.concurrency < 1 or self.attempts < 1:
            raise ValueError("the forwarding concurrency and attempts must be at least 1")
        for name in ("requests_per_second", "backoff_seconds", "max_backoff_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"the forwarding option {name} must be >= 0")
        if self.timeout_seconds <= 0:
            raise ValueError("the forwarding timeout must be > 0")
