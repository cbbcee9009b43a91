"""The connectors' async client: one per event loop, key, organization and server, reused by every call
(no client, TLS set-up or SDK import per call), and a new one on another loop, whose connections the
first could not use."""

from __future__ import annotations

import asyncio

import pytest

from openai_batch_jobs.api.client import close_shared_clients, shared_async_client

pytestmark = pytest.mark.anyio

URL = "http://127.0.0.1:9/v1"


async def test_one_client_per_key_organization_and_server_on_a_loop() -> None:
    client = shared_async_client("sk-a", None, URL)
    assert shared_async_client("sk-a", None, URL) is client
    assert shared_async_client("sk-a", None, "http://127.0.0.1:10/v1") is not client
    assert shared_async_client("sk-b", None, URL) is not client
    assert shared_async_client("sk-a", "org-1", URL) is not client
    assert client.max_retries == 0  # the connectors' retry policies run the retries
    await close_shared_clients()
    assert shared_async_client("sk-a", None, URL) is not client
    await close_shared_clients()


async def test_another_event_loop_gets_its_own_client() -> None:
    async def on_its_own_loop() -> object:
        try:
            return shared_async_client("sk-a", None, URL)
        finally:
            await close_shared_clients()

    here = shared_async_client("sk-a", None, URL)
    there = await asyncio.to_thread(asyncio.run, on_its_own_loop())
    assert there is not here
    await close_shared_clients()
