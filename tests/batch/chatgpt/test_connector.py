"""ChatGPTConnector.do against the emulator over real HTTP, called as upstream's tests call it:
`await connector.do(template, inputs)`, with the template through protobuf as propeller sends it."""

from __future__ import annotations

import traceback
from typing import Any

import pytest
from flyteidl.core.execution_pb2 import TaskExecution

from flytekitplugins.openai.batch._compat import lookup_connector
from flytekitplugins.openai.batch.errors import BaseURLNotAllowed, MissingConnectorSecret
from flytekitplugins.openai.chatgpt.connector import TIMEOUT_ENV, ChatGPTConnector
from flytekitplugins.openai.chatgpt.errors import ChatGPTConfigError
from flytekitplugins.openai.chatgpt.task import ChatGPTTask
from openai_batch_emulator import Emulator

from .models import message, template

pytestmark = [pytest.mark.usefixtures("connector_key"), pytest.mark.anyio]


def chatgpt_on(emulator: Emulator, **config: Any) -> ChatGPTTask:
    return ChatGPTTask(
        name="ask", chatgpt_config={"model": "gpt-4o-mini", **config}, base_url=emulator.base_url
    )


async def test_the_registered_connector_answers(emulator: Emulator) -> None:
    connector = lookup_connector("chatgpt")
    resource = await connector.do(template(chatgpt_on(emulator, temperature=0.7)), message("What is Flyte?"))
    assert resource.phase == TaskExecution.SUCCEEDED
    assert resource.outputs == {"o0": "Echo: What is Flyte?"}
    assert resource.custom_info["model"] == "gpt-4o-mini"
    assert resource.custom_info["finish_reason"] == "stop"
    assert resource.custom_info["usage"]["total_tokens"] > 0


async def test_config_messages_go_before_the_message(emulator: Emulator) -> None:
    plain = await ChatGPTConnector().do(template(chatgpt_on(emulator)), message("hi"))
    system = [{"role": "system", "content": "Answer in one sentence, politely and briefly."}]
    prompted = await ChatGPTConnector().do(template(chatgpt_on(emulator, messages=system)), message("hi"))
    assert prompted.outputs == plain.outputs == {"o0": "Echo: hi"}
    assert prompted.custom_info["usage"]["prompt_tokens"] > plain.custom_info["usage"]["prompt_tokens"]


async def test_integer_options_survive_the_templates_protobuf(emulator: Emulator) -> None:
    # The template's custom is a protobuf Struct: max_tokens=2 arrives as 2.0, which the API refuses.
    tt = template(chatgpt_on(emulator, max_tokens=2))
    assert tt.custom["chatgpt_config"]["max_tokens"] == 2.0
    resource = await ChatGPTConnector().do(tt, message("What is Flyte?"))
    assert resource.outputs == {"o0": "Echo: Wh"}
    assert resource.custom_info["finish_reason"] == "length"


async def test_an_unknown_model_fails_with_the_apis_reason(emulator: Emulator) -> None:
    resource = await ChatGPTConnector().do(
        template(chatgpt_on(emulator, model="no-such-model")), message("hi")
    )
    assert resource.phase == TaskExecution.FAILED
    assert "HTTP 404" in resource.message
    assert "no-such-model" in resource.message


async def test_a_template_without_a_model_is_refused(emulator: Emulator) -> None:
    tt = template(chatgpt_on(emulator))
    del tt.custom["chatgpt_config"]["model"]
    with pytest.raises(ChatGPTConfigError, match="'model' configuration variable is required"):
        await ChatGPTConnector().do(tt, message("hi"))


async def test_missing_secret_is_named(monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> None:
    monkeypatch.delenv("FLYTE_OPENAI_API_KEY")
    with pytest.raises(MissingConnectorSecret, match="FLYTE_OPENAI_API_KEY") as info:
        await ChatGPTConnector().do(template(chatgpt_on(emulator)), message("hi"))
    assert "_FSEC_FLYTE_OPENAI_API_KEY" in str(info.value)


@pytest.mark.slow
async def test_a_wrong_key_fails_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    secret = "sk-proj-fake-wrongkey0123456789abcdef"
    monkeypatch.setenv("FLYTE_OPENAI_API_KEY", secret)
    with Emulator(data_dir=tmp_path_factory.mktemp("emu"), api_key="sk-the-right-one") as emu:
        resource = await ChatGPTConnector().do(template(chatgpt_on(emu)), message("hi"))
    assert resource.phase == TaskExecution.FAILED
    assert "HTTP 401" in resource.message
    assert "not retried" in resource.message
    assert "wrongkey0123" not in resource.message


async def test_a_base_url_the_connector_does_not_trust_gets_no_key(emulator: Emulator) -> None:
    tt = template(chatgpt_on(emulator))
    tt.custom["base_url"] = "https://collector.invalid/v1"
    with pytest.raises(BaseURLNotAllowed, match="FLYTE_OPENAI_ALLOWED_BASE_URLS") as info:
        await ChatGPTConnector().do(tt, message("hi"))
    assert "sk-" not in "".join(traceback.format_exception(info.type, info.value, info.tb))


async def test_transient_faults_are_retried(emulator: Emulator) -> None:
    emulator.inject_fault("POST", "/chat/completions", status=503, count=1)
    emulator.inject_fault("POST", "/chat/completions", status="drop", count=1)
    emulator.inject_fault("POST", "/chat/completions", status=429, count=1, retry_after=0)
    resource = await ChatGPTConnector().do(template(chatgpt_on(emulator)), message("still there?"))
    assert resource.phase == TaskExecution.SUCCEEDED, resource.message
    assert resource.outputs == {"o0": "Echo: still there?"}
    assert emulator.runtime.faults.pending() == []


async def test_faults_that_outlast_the_timeout_fail_retryably(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulator
) -> None:
    monkeypatch.setenv(TIMEOUT_ENV, "2")
    emulator.inject_fault("POST", "/chat/completions", status=500, count=1000)
    resource = await ChatGPTConnector().do(template(chatgpt_on(emulator)), message("hi"))
    assert resource.phase == TaskExecution.RETRYABLE_FAILED
    assert "no answer within 2 s" in resource.message
    assert "transient faults were retried" in resource.message
    # Retried, not given up at the first 500.
    assert len(emulator.runtime.faults.pending()) == 1
    assert emulator.runtime.faults.pending()[0]["remaining"] < 999


async def test_the_answer_is_bounded_by_the_connectors_timeout(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulator
) -> None:
    monkeypatch.setenv(TIMEOUT_ENV, "1.5")
    # The SDK honours Retry-After: waiting 30 s would overrun any propeller deadline.
    emulator.inject_fault("POST", "/chat/completions", status=429, count=1, retry_after=30)
    resource = await ChatGPTConnector().do(template(chatgpt_on(emulator)), message("hi"))
    assert resource.phase == TaskExecution.RETRYABLE_FAILED
    # The connector's own bound ended the call, not the server's Retry-After (the fault is not used up
    # by a second request after the 30 s wait).
    assert f"no answer within 1.5 s (the connector's {TIMEOUT_ENV}" in resource.message


async def test_a_bad_timeout_setting_is_named(monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> None:
    monkeypatch.setenv(TIMEOUT_ENV, "soon")
    with pytest.raises(ChatGPTConfigError, match=f"{TIMEOUT_ENV} must be a positive number"):
        await ChatGPTConnector().do(template(chatgpt_on(emulator)), message("hi"))
