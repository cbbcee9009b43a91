"""BatchEndpointConnector's create/get/delete against the emulator, over real HTTP."""

from __future__ import annotations

import io
import traceback
from typing import Any

import openai
import pytest
from flyteidl.core.execution_pb2 import TaskExecution

from flytekitplugins.openai.batch.connector import BatchEndpointConnector
from flytekitplugins.openai.batch.errors import (
    BaseURLNotAllowed,
    BatchAPIError,
    BatchConfigError,
    MissingConnectorSecret,
)
from flytekitplugins.openai.batch.resource_meta import BatchEndpointMetadata
from flytekitplugins.openai.batch.task import BatchEndpointTask
from openai_batch_emulator import Emulator
from openai_batch_jobs.api.batch_config import EXECUTION_METADATA_KEY
from openai_batch_jobs.errors import TaskTemplateError
from tests.support.waiting import wait_until_async

from .conftest import upload_requests
from .flyte_models import batch_result, execution_metadata, inputs, template

pytestmark = [pytest.mark.usefixtures("connector_key"), pytest.mark.anyio]


def batch_task(emulator: Emulator, **kwargs: Any) -> BatchEndpointTask:
    kwargs.setdefault("config", {})
    return BatchEndpointTask(name="batch", base_url=emulator.base_url, **kwargs)


async def wait_for_phase(
    connector: BatchEndpointConnector, meta: BatchEndpointMetadata, phase: int, timeout: float = 120
):
    def reached(resource: Any) -> bool:
        assert resource.phase in (phase, TaskExecution.RUNNING), resource.message
        return bool(resource.phase == phase)

    return await wait_until_async(
        lambda: connector.get(meta), until=reached, timeout=timeout, what=f"phase {phase}"
    )


async def test_create_then_get_until_succeeded(
    emulator: Emulator, openai_client: openai.OpenAI, input_file_id: str
) -> None:
    connector = BatchEndpointConnector()
    meta = await connector.create(template(batch_task(emulator)), inputs=inputs(input_file_id))
    assert meta.base_url == emulator.base_url
    assert BatchEndpointMetadata.decode(meta.encode()) == meta

    resource = await wait_for_phase(connector, meta, TaskExecution.SUCCEEDED)
    batch = openai_client.batches.retrieve(meta.batch_id)
    assert batch.status == "completed"
    assert batch.endpoint == "/v1/chat/completions"
    assert batch.completion_window == "24h"
    assert batch.input_file_id == input_file_id
    result = batch_result(resource.outputs)
    assert result["id"] == meta.batch_id
    assert result["status"] == "completed"
    assert result["output_file_id"] == batch.output_file_id
    assert resource.custom_info["request_counts"] == {"total": 3, "completed": 3, "failed": 0}
    # Upstream's message (none on success); the full account is beside it.
    assert not resource.message
    assert "3 of 3 requests completed" in resource.custom_info["message"]
    # The OpenAI dashboard does not show an emulator's batches.
    assert not resource.log_links


async def test_config_metadata_and_execution_key_reach_the_batch(
    emulator: Emulator, openai_client: openai.OpenAI, input_file_id: str
) -> None:
    task = batch_task(emulator, config={"endpoint": "/v1/chat/completions", "metadata": {"team": "nlp"}})
    meta = await BatchEndpointConnector().create(
        template(task),
        inputs=inputs(input_file_id),
        task_execution_metadata=execution_metadata("exec1", "n3", 2),
    )
    batch = openai_client.batches.retrieve(meta.batch_id)
    assert batch.metadata == {"team": "nlp", EXECUTION_METADATA_KEY: "p/d/exec1/n3/2"}


async def create_for(emulator: Emulator, input_file_id: str, execution: str = "e", retry: int = 0) -> Any:
    """CreateTask of an attempt of an execution, as propeller sends it (again after a call it did not
    see end), to a connector of its own: a connector keeps nothing between calls."""
    return await BatchEndpointConnector().create(
        template(batch_task(emulator)),
        inputs=inputs(input_file_id),
        task_execution_metadata=execution_metadata(execution, retry=retry),
    )


async def test_create_twice_for_one_execution_makes_one_batch(
    emulator: Emulator, openai_client: openai.OpenAI, input_file_id: str
) -> None:
    first = await create_for(emulator, input_file_id)
    again = await create_for(emulator, input_file_id)
    assert again == first
    # A new attempt of the task (or another execution) is a new batch.
    retry = await create_for(emulator, input_file_id, retry=1)
    other = await create_for(emulator, input_file_id, "f")
    assert len({first.batch_id, retry.batch_id, other.batch_id}) == 3
    assert len(openai_client.batches.list(limit=100).data) == 3


async def test_local_runs_have_no_execution_key(
    emulator: Emulator, openai_client: openai.OpenAI, input_file_id: str
) -> None:
    connector = BatchEndpointConnector()
    tt = template(batch_task(emulator))
    first = await connector.create(tt, inputs=inputs(input_file_id))
    second = await connector.create(tt, inputs=inputs(input_file_id))
    assert first.batch_id != second.batch_id
    assert not openai_client.batches.retrieve(first.batch_id).metadata


async def test_create_rides_out_a_transient_fault(emulator: Emulator, input_file_id: str) -> None:
    emulator.inject_fault("POST", "/v1/batches", status=503, count=1)
    emulator.inject_fault("GET", "/v1/batches", status="drop", count=1)
    meta = await BatchEndpointConnector().create(
        template(batch_task(emulator)),
        inputs=inputs(input_file_id),
        task_execution_metadata=execution_metadata("e"),
    )
    assert meta.batch_id.startswith("batch_")


async def test_create_retries_within_its_deadline_then_gives_up(
    emulator: Emulator, input_file_id: str
) -> None:
    fault = emulator.inject_fault("POST", "/v1/batches", status=503, count=1000)
    with pytest.raises(BatchAPIError, match="HTTP 503"):
        await BatchEndpointConnector().create(template(batch_task(emulator)), inputs=inputs(input_file_id))
    # CREATE's waits (0.25 s doubling, less up to 25 % jitter) leave room for at most five tries
    # in its 5 s, however fast the server answers; a slow machine only makes it fewer.
    tries = 1000 - fault.remaining
    assert 2 <= tries <= 5


async def test_bad_config_from_another_client_is_refused(emulator: Emulator, input_file_id: str) -> None:
    tt = template(batch_task(emulator))
    tt.custom["config"] = {"endpoint": "/v1/nope"}
    with pytest.raises(BatchConfigError, match="endpoint '/v1/nope'"):
        await BatchEndpointConnector().create(tt, inputs=inputs(input_file_id))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("retries", 3, r"unknown key 'retries'"),
        ("accept_partial_results", "yes", r"'accept_partial_results' must be true or false"),
        ("base_url", 8000, r"'base_url' must be a string"),
    ],
)
async def test_a_template_the_connector_cannot_read_is_named(
    emulator: Emulator, input_file_id: str, key: str, value: Any, message: str
) -> None:
    tt = template(batch_task(emulator))
    tt.custom[key] = value
    with pytest.raises(TaskTemplateError, match=message) as info:
        await BatchEndpointConnector().create(tt, inputs=inputs(input_file_id))
    assert "openai-batch task 'batch'" in str(info.value)


async def test_a_template_of_the_upstream_plugin_is_read(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulator, input_file_id: str
) -> None:
    # Upstream wrote only the organization and the config; the batch goes to the connector's server.
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    tt = template(batch_task(emulator))
    tt.custom.clear()
    tt.custom.update({"openai_organization": None, "config": {"endpoint": "/v1/chat/completions"}})
    connector = BatchEndpointConnector()
    meta = await connector.create(tt, inputs=inputs(input_file_id))
    # As upstream's meta: no server stored that the task did not name; each call finds the connector's.
    assert meta == BatchEndpointMetadata(openai_org=None, batch_id=meta.batch_id)
    await wait_for_phase(connector, meta, TaskExecution.SUCCEEDED)


async def test_a_base_url_the_connector_does_not_trust_gets_no_key(
    emulator: Emulator, input_file_id: str
) -> None:
    tt = template(batch_task(emulator))
    tt.custom["base_url"] = "https://collector.invalid/v1"
    with pytest.raises(BaseURLNotAllowed, match="FLYTE_OPENAI_ALLOWED_BASE_URLS"):
        await BatchEndpointConnector().create(tt, inputs=inputs(input_file_id))


async def test_missing_secret_is_named(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulator, input_file_id: str
) -> None:
    monkeypatch.delenv("FLYTE_OPENAI_API_KEY")
    with pytest.raises(MissingConnectorSecret, match="FLYTE_OPENAI_API_KEY") as info:
        await BatchEndpointConnector().create(template(batch_task(emulator)), inputs=inputs(input_file_id))
    assert "_FSEC_FLYTE_OPENAI_API_KEY" in str(info.value)


@pytest.mark.slow
async def test_a_refused_key_never_shows_in_the_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    secret = "sk-proj-fake-wrongkey0123456789abcdef"
    with Emulator(data_dir=tmp_path_factory.mktemp("emu"), api_key="sk-the-right-one") as emu:
        file_id = upload_requests(emu.client())
        monkeypatch.setenv("FLYTE_OPENAI_API_KEY", secret)
        with pytest.raises(BatchAPIError, match="HTTP 401") as info:
            await BatchEndpointConnector().create(template(batch_task(emu)), inputs=inputs(file_id))
    shown = "".join(traceback.format_exception(info.type, info.value, info.tb))
    assert "wrongkey0123" not in shown
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


async def test_an_unknown_input_file_is_named_and_creates_nothing(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    with pytest.raises(BatchAPIError, match=r"HTTP 404.*file-does-not-exist|file-does-not-exist.*HTTP 404"):
        await BatchEndpointConnector().create(
            template(batch_task(emulator)), inputs=inputs("file-does-not-exist")
        )
    assert openai_client.batches.list().data == []


async def test_get_answers_running_through_transient_faults(emulator: Emulator, input_file_id: str) -> None:
    connector = BatchEndpointConnector()
    meta = await connector.create(template(batch_task(emulator)), inputs=inputs(input_file_id))
    for status in (503, 429, 500, "drop"):
        emulator.inject_fault("GET", f"/v1/batches/{meta.batch_id}", status=status, count=1)
        resource = await connector.get(meta)
        assert resource.phase == TaskExecution.RUNNING
        assert f"Reading batch {meta.batch_id} failed" in resource.message
        assert str(status) in resource.message or status == "drop"
    await wait_for_phase(connector, meta, TaskExecution.SUCCEEDED)


async def test_get_fails_once_faults_outlast_the_grace_period(emulator: Emulator, input_file_id: str) -> None:
    # With no grace, any later poll is past it, whether it comes at once or after hours: a run of
    # faults is not forgotten while propeller keeps asking.
    connector = BatchEndpointConnector(fault_grace_s=0.0)
    meta = await connector.create(template(batch_task(emulator)), inputs=inputs(input_file_id))
    emulator.inject_fault("GET", f"/v1/batches/{meta.batch_id}", status=503, count=100)
    assert (await connector.get(meta)).phase == TaskExecution.RUNNING
    with pytest.raises(BatchAPIError, match=r"failing for \d+ s.*HTTP 503"):
        await connector.get(meta)


async def test_get_of_an_unknown_batch_is_an_error(emulator: Emulator) -> None:
    meta = BatchEndpointMetadata(batch_id="batch_missing", base_url=emulator.base_url)
    with pytest.raises(BatchAPIError, match="Reading batch batch_missing failed: HTTP 404"):
        await BatchEndpointConnector().get(meta)


async def test_delete_cancels_and_is_idempotent(
    emulator: Emulator, openai_client: openai.OpenAI, input_file_id: str
) -> None:
    emulator.configure(requests_per_second=0, cancelling_seconds=1)
    connector = BatchEndpointConnector()
    meta = await connector.create(template(batch_task(emulator)), inputs=inputs(input_file_id))
    await connector.delete(meta)
    assert openai_client.batches.retrieve(meta.batch_id).status == "cancelling"
    await connector.delete(meta)  # cancelling
    resource = await wait_for_phase(connector, meta, TaskExecution.FAILED)
    assert "cancelled" in resource.message
    await connector.delete(meta)  # cancelled
    await connector.delete(BatchEndpointMetadata(batch_id="batch_gone", base_url=emulator.base_url))


async def test_delete_of_a_completed_batch_is_fine(
    emulator: Emulator, openai_client: openai.OpenAI, input_file_id: str
) -> None:
    connector = BatchEndpointConnector()
    meta = await connector.create(template(batch_task(emulator)), inputs=inputs(input_file_id))
    await wait_for_phase(connector, meta, TaskExecution.SUCCEEDED)
    await connector.delete(meta)
    assert openai_client.batches.retrieve(meta.batch_id).status == "completed"


async def test_expired_batch_fails_saying_where_results_are_unless_partial_accepted(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    file_id = upload_requests(openai_client, count=40)
    # 20 requests a second, a 1 s window: about half the requests are answered before it expires.
    emulator.configure(requests_per_second=20, completion_window_seconds=1)
    connector = BatchEndpointConnector()
    strict = await connector.create(template(batch_task(emulator)), inputs=inputs(file_id))
    lenient = await connector.create(
        template(batch_task(emulator, accept_partial_results=True)), inputs=inputs(file_id)
    )
    failed = await wait_for_phase(connector, strict, TaskExecution.FAILED)
    assert "expired" in failed.message
    assert "completed requests are in output file file-" in failed.message
    assert "accept_partial_results=True" in failed.message
    accepted = await wait_for_phase(connector, lenient, TaskExecution.SUCCEEDED)
    assert batch_result(accepted.outputs)["status"] == "expired"


async def test_batch_that_fails_validation_reports_the_line(
    emulator: Emulator, openai_client: openai.OpenAI
) -> None:
    good = b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o-mini", "messages": []}}\n'
    file_id = openai_client.files.create(
        file=("r.jsonl", io.BytesIO(good + b"{not json\n")), purpose="batch"
    ).id
    connector = BatchEndpointConnector()
    meta = await connector.create(template(batch_task(emulator)), inputs=inputs(file_id))
    resource = await wait_for_phase(connector, meta, TaskExecution.FAILED)
    # Upstream's message: the batch's first error, exactly; where it is, beside it.
    [error] = openai_client.batches.retrieve(meta.batch_id).errors.data
    assert resource.message == error.message
    assert f"Batch {meta.batch_id} failed" in resource.custom_info["message"]
    assert "(line 2)" in resource.custom_info["message"]


async def test_delete_rides_out_a_transient_fault(
    emulator: Emulator, openai_client: openai.OpenAI, input_file_id: str
) -> None:
    emulator.configure(requests_per_second=0)
    connector = BatchEndpointConnector()
    meta = await connector.create(template(batch_task(emulator)), inputs=inputs(input_file_id))
    emulator.inject_fault("POST", f"/v1/batches/{meta.batch_id}/cancel", status=502, count=2)
    await connector.delete(meta)
    assert openai_client.batches.retrieve(meta.batch_id).status in ("cancelling", "cancelled")


async def test_create_again_finds_its_batch_beyond_the_first_page(
    emulator: Emulator, openai_client: openai.OpenAI, input_file_id: str
) -> None:
    first = await create_for(emulator, input_file_id)
    # Newer batches push it onto the second page of the (newest first) list.
    for _ in range(105):
        openai_client.batches.create(
            input_file_id=input_file_id, endpoint="/v1/chat/completions", completion_window="24h"
        )
    again = await create_for(emulator, input_file_id)
    assert again == first
    assert openai_client.batches.list(limit=100).has_next_page()
