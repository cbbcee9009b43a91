"""`BatchRecord`: everything persisted about one batch, its schedule, and its API shape.

A batch's state is a pure function of its creation time, the settings it copied at creation and the
moment it was cancelled (see `_answering` for when each request is answered).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..settings import Settings

ACTIVE = ("validating", "in_progress", "finalizing", "cancelling")
CANCELLABLE = ("validating", "in_progress", "finalizing")


@dataclass
class BatchRecord:
    """Everything persisted about one batch (`batches/<id>.json`)."""

    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    created: float
    seq: int
    settings: dict[str, Any]
    metadata: dict[str, str] | None = None
    output_expires_seconds: int | None = None
    status: str = "validating"
    model: str | None = None
    errors: list[dict[str, Any]] | None = None
    in_progress: float | None = None
    finalizing: float | None = None
    completed: float | None = None
    failed: float | None = None
    expired: float | None = None
    cancelling: float | None = None
    cancelled: float | None = None
    total: int = 0
    completed_count: int = 0
    failed_count: int = 0
    processed: int = 0  # input lines answered so far
    input_offset: int = 0  # bytes of input consumed by those answers
    output_bytes: int = 0
    error_bytes: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    enqueued_tokens: int = 0  # estimated prompt tokens of the input, held against the model's limit
    output_file_id: str | None = None
    error_file_id: str | None = None
    forwarded: bool = False  # answered by an upstream server (see `forwarding.forwarder`), not on a schedule
    _settings: Settings | None = field(default=None, repr=False, compare=False)

    @property
    def knobs(self) -> Settings:
        if self._settings is None:
            known = Settings().as_dict().keys()
            self._settings = Settings().updated(**{k: v for k, v in self.settings.items() if k in known})
        return self._settings

    @property
    def expires(self) -> float:
        return self.created + self.knobs.completion_window_seconds

    @property
    def validates(self) -> float:
        """When validation ends, on the schedule."""
        return self.created + self.knobs.validating_seconds

    def settles(self) -> float:
        """When the batch leaves the in-flight states (in_progress, finalizing, cancelling), on its
        schedule as known now: its final timestamp once it has one."""
        knobs = self.knobs
        for final in (self.completed, self.failed, self.expired, self.cancelled):
            if final is not None:
                return final
        if self.cancelling is not None:
            return self.cancelling + knobs.cancelling_seconds
        if self.finalizing is not None:
            return self.finalizing + knobs.finalizing_seconds
        if self.in_progress is None or knobs.requests_per_second <= 0 or self.forwarded:
            return self.expires
        answered = self.in_progress + self.total / knobs.requests_per_second
        return answered + knobs.finalizing_seconds if answered <= self.expires else self.expires

    def holds_tokens_at(self, when: float) -> bool:
        """Whether its enqueued tokens count against its model's limit at `when`: from the end of its
        validation until it finishes."""
        return self.in_progress is not None and self.in_progress <= when < self.settles()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["_settings"]
        return data

    def to_api(self) -> dict[str, Any]:
        def stamp(value: float | None) -> int | None:
            return None if value is None else int(value)

        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "model": self.model,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": int(self.created),
            "in_progress_at": stamp(self.in_progress),
            "expires_at": int(self.expires),
            "finalizing_at": stamp(self.finalizing),
            "completed_at": stamp(self.completed),
            "failed_at": stamp(self.failed),
            "expired_at": stamp(self.expired),
            "cancelling_at": stamp(self.cancelling),
            "cancelled_at": stamp(self.cancelled),
            "request_counts": {
                "total": self.total,
                "completed": self.completed_count,
                "failed": self.failed_count,
            },
            "usage": {
                "input_tokens": self.input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": self.output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": self.input_tokens + self.output_tokens,
            },
            "metadata": self.metadata,
        }
