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
from openai_batch_emulator.answers.prompts import prompt_tokens
from openai_batch_jobs.api.batch_config import EXECUTION_METADATA_KEY
from openai_batch_jobs.inputs.estimate import TokenTotals, request_tokens
from openai_batch_jobs.inputs.part_names import tagged_name
from tests.support.waiting import wait_until

from .flyte_models import execution_metadata_pb, job_inputs_pb, template_pb
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


def job_until(
    phase: int, service: ConnectorService, emulator: Emulator, name: str, file_ids: list[str], **settings: Any
) -> tuple[list[str], bytes, Any]:
    """A job of the parts ``file_ids`` (task ``settings``) for execution ``name``, polled until ``phase``:
    the file ids, its meta and the resource."""
    meta = service.create(job_on(emulator, **settings), job_inputs_pb(file_ids), execution_metadata_pb(name))
    resource, _ = poll(service, meta, phase)
    return file_ids, meta, resource


def out_of_room(
    service: ConnectorService, emulator: Emulator, client: openai.OpenAI, parts: int, attempts: int, name: str
) -> tuple[list[str], bytes, Any]:
    """A job of ``parts`` parts none of which ever fits the token limit, run until it gives up after
    ``attempts`` tries (RETRYABLE_FAILED, for Flyte to retry): its input file ids, meta and resource."""
    emulator.configure(enqueued_token_limits={"gpt-4o-mini": 1})
    file_ids, meta, resource = job_until(
        TaskExecution.RETRYABLE_FAILED,
        service,
        emulator,
        name,
        upload_parts(client, parts=parts),
        token_limit_wait_s=0.0,
        token_limit_attempts=attempts,
    )
    assert "token_limit_exceeded" in resource.message
    return file_ids, meta, resource


def failed_on_a_bad_part(
    service: ConnectorService, emulator: Emulator, client: openai.OpenAI, name: str
) -> tuple[list[str], bytes, Any]:
    """A job of three parts whose second names another endpoint, run until it fails naming that part:
    its input file ids, meta and resource."""
    emulator.configure(requests_per_second=1)
    file_ids, meta, resource = job_until(
        TaskExecution.FAILED, service, emulator, name, upload_parts(client, parts=3, count=5, bad_part=1)
    )
    assert f"part 2 ({file_ids[1]})" in resource.message
    assert "[url_mismatch]" in resource.message
    return file_ids, meta, resource


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
