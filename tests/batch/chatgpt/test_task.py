"""ChatGPTTask as upstream defined it: constructor, task type, interface, template custom, import paths."""

from __future__ import annotations

from typing import Any

import pytest
from flytekit.models.types import SimpleType

from flytekitplugins.openai.chatgpt.errors import ChatGPTConfigError
from flytekitplugins.openai.chatgpt.task import ChatGPTTask
from tests.support.python import run_python

from .models import template


def test_template_is_upstreams_with_base_url_only_when_set() -> None:
    config = {"model": "gpt-4o-mini", "temperature": 0.7}
    task = ChatGPTTask(name="ask", openai_organization="org-1", chatgpt_config=config)
    tt = template(task)
    assert tt.type == "chatgpt"
    assert tt.custom == {"openai_organization": "org-1", "chatgpt_config": config}
    assert tt.interface.inputs["message"].type.simple == SimpleType.STRING
    assert tt.interface.outputs["o0"].type.simple == SimpleType.STRING
    assert list(tt.interface.inputs) == ["message"]
    assert list(tt.interface.outputs) == ["o0"]
    assert task.task_config == {"openai_organization": "org-1", "chatgpt_config": config}

    elsewhere = ChatGPTTask(name="ask", chatgpt_config=config, base_url="http://127.0.0.1:9/v1")
    assert template(elsewhere).custom["base_url"] == "http://127.0.0.1:9/v1"


def test_the_task_keeps_its_own_copy_of_the_config() -> None:
    config: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."}],
    }
    task = ChatGPTTask(name="ask", chatgpt_config=config)
    config["messages"].append({"role": "user", "content": "changed later"})
    assert template(task).custom["chatgpt_config"]["messages"] == [{"role": "system", "content": "Be brief."}]


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"temperature": 0.7}, "'model' configuration variable is required"),
        ({"model": ""}, "'model' configuration variable is required"),
        ({"model": "gpt-4o-mini", "temprature": 0.7}, "Unknown key.*temprature.*extra_body"),
        ({"model": "gpt-4o-mini", "stream": True}, "stream"),
        ({"model": "gpt-4o-mini", "n": 2}, "n in the"),
        ({"model": "gpt-4o-mini", "messages": "Be brief."}, "messages in the"),
        ({"model": "gpt-4o-mini", "messages": [{"content": "no role"}]}, "messages in the"),
    ],
)
def test_a_config_the_api_cannot_take_fails_at_definition(config: dict[str, Any], problem: str) -> None:
    with pytest.raises(ChatGPTConfigError, match=problem) as info:
        ChatGPTTask(name="ask", chatgpt_config=config)
    assert "'ask'" in str(info.value)
    # Upstream raised ValueError for a config without a model; callers catching that keep working.
    assert isinstance(info.value, ValueError)


def test_base_url_must_be_http() -> None:
    with pytest.raises(ChatGPTConfigError, match="base_url"):
        ChatGPTTask(name="ask", chatgpt_config={"model": "gpt-4o-mini"}, base_url="ftp://example.com")


def test_upstreams_import_paths_give_one_class() -> None:
    import flytekitplugins.openai as meta
    from flytekitplugins.openai.chatgpt import ChatGPTAgent, ChatGPTConnector
    from flytekitplugins.openai.chatgpt import ChatGPTTask as from_package
    from flytekitplugins.openai.chatgpt.agent import ChatGPTAgent as from_agent
    from flytekitplugins.openai.chatgpt.connector import ChatGPTConnector as from_connector

    assert meta.ChatGPTTask is from_package is ChatGPTTask
    assert meta.ChatGPTConnector is meta.ChatGPTAgent is ChatGPTConnector is ChatGPTAgent
    assert from_agent is from_connector is ChatGPTConnector
    assert ChatGPTConnector().task_category.name == "chatgpt"


@pytest.mark.slow
def test_import_flytekit_registers_the_connector_without_loading_openai() -> None:
    code = """
        import sys
        import flytekit
        from flytekit.extend.backend.base_agent import AgentRegistry
        connector = AgentRegistry.get_agent("chatgpt")
        print(type(connector).__module__, type(connector).__name__)
        print("openai._client" in sys.modules)
        """
    assert run_python(code).split() == [
        "flytekitplugins.openai.chatgpt.connector",
        "ChatGPTConnector",
        "False",
    ]
