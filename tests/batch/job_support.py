"""What the job tests share: parts on an emulator, the emulator's token estimate of a part, and driving
the job connector behind the real gRPC service as FlytePropeller does."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import openai
from flyteidl.core.execution_pb2 import TaskExecution

from flytekitplugins.openai.batch import BatchJobTask
from openai_batch_emulator import Emulator
from openai_batch_emulator.responders import prompt_tokens
from openai_batch_jobs.api.batch_config import EXECUTION_METADATA_KEY
from openai_batch_jobs.inputs.estimate import TokenTotals, request_tokens
from openai_batch_jobs.inputs.part_names import tagged_name
from tests.support.waiting import wait_until

from .flyte_models import template_pb
from .service import JOB_TASK_TYPE, ConnectorService

ENDPOINT = "/v1/chat/completions"
# The most a test waits for a state of the service or the emulator (bounded waits, never sleeps alone).
WAIT_S = 180.0


def request_lines(part: int, count: int, url: str = ENDPOINT) -> list[dict[str, object]]:
    return [
        {
            "custom_id": f"part{part}-request-{i}",
            "method": "POST",
            "url": url,
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Say {part} {i}"}]},
        }
        for i in range(count)
    ]


def upload_parts(
    client: openai.OpenAI, parts: int, count: int = 3, bad_part: int | None = None, *, tagged: bool = False
) -> list[str]:
    """Upload `parts` files of `count` chat requests; `bad_part`'s requests name another endpoint, so its
    batch fails validating (bad input). `tagged`: each file named with its token estimate and model, as
    the upload step names it (what a budget of enqueued tokens and a cost cap read)."""
    ids = []
    for part in range(parts):
        lines = request_lines(part, count, "/v1/embeddings" if part == bad_part else ENDPOINT)
        data = "".join(json.dumps(line) + "\n" for line in lines).encode()
        name = f"part{part}.jsonl"
        if tagged:
            name = tagged_name(name, part_estimate(lines), "gpt-4o-mini")
        ids.append(client.files.create(file=(name, io.BytesIO(data)), purpose="batch").id)
    return ids


def part_estimate(lines: list[dict[str, Any]]) -> TokenTotals:
    """A part's token estimate, as the upload step counts it."""
    totals = TokenTotals()
    for line in lines:
        totals.add(request_tokens(str(line["url"]), line["body"]))
    return totals


def part_bound(lines: list[dict[str, Any]]) -> int:
    """A part's enqueued-token bound, as the upload step counts it."""
    return part_estimate(lines).bound


def part_tokens(count: int = 3) -> int:
    """The enqueued tokens of one part as `upload_parts` writes it (the emulator's own estimate)."""
    return sum(prompt_tokens(ENDPOINT, line["body"]) for line in request_lines(0, count))  # type: ignore[arg-type]


def job_on(emulator: Emulator, **kwargs: Any) -> Any:
    """A job task's template whose batches go to ``emulator``."""
    return template_pb(
        BatchJobTask(name="openai-batch-job.grpc", config={}, base_url=emulator.base_url, **kwargs)
    )


def get(service: ConnectorService, meta: bytes) -> Any:
    return service.get(meta, task_type=JOB_TASK_TYPE)


def poll(
    service: ConnectorService, meta: bytes, phase: int, until: Callable[[Any], bool] | None = None
) -> tuple[Any, list[str]]:
    """GetTask until `phase` (and `until`); returns the last resource and every message seen."""
    messages: list[str] = []

    def fetch() -> Any:
        resource = get(service, meta)
        messages.append(resource.message)
        return resource

    def reached(resource: Any) -> bool:
        if resource.phase == phase and (until is None or until(resource)):
            return True
        assert resource.phase == TaskExecution.RUNNING, resource.message
        return False

    return wait_until(fetch, until=reached, timeout=WAIT_S, what=f"phase {phase}"), messages


def job_batches(client: openai.OpenAI, key: str) -> list[Any]:
    """The emulator's batches tagged with the job's key, oldest first."""
    listed = [
        b
        for b in client.batches.list(limit=100).data
        if (b.metadata or {}).get(EXECUTION_METADATA_KEY) == key
    ]
    return list(reversed(listed))  # the list is newest first
