"""The connector registers itself at `import flytekit`, cheaply, under both flytekit naming schemes."""

from __future__ import annotations

import pytest

from tests.support.python import run_python


@pytest.mark.slow
def test_import_flytekit_registers_the_connector_without_loading_openai() -> None:
    out = run_python(
        """
        import sys
        import flytekit
        from flytekit.extend.backend.base_agent import AgentRegistry
        connector = AgentRegistry.get_agent("openai-batch")
        print(type(connector).__module__, type(connector).__name__)
        # lazy_module leaves a placeholder in sys.modules; the SDK itself must not be executed yet.
        print("openai._client" in sys.modules)
        """
    )
    assert out.split() == ["flytekitplugins.openai.batch.connector", "BatchEndpointConnector", "False"]


def test_agent_and_connector_names_are_one_class() -> None:
    from flytekitplugins.openai.batch.agent import BatchEndpointAgent
    from flytekitplugins.openai.batch.connector import BatchEndpointAgent as alias
    from flytekitplugins.openai.batch.connector import BatchEndpointConnector

    assert BatchEndpointAgent is BatchEndpointConnector is alias
    assert BatchEndpointConnector().task_category.name == "openai-batch"


@pytest.mark.slow
def test_importing_again_does_not_register_twice() -> None:
    # In a process of its own: reloading here would give later tests in this worker a second class.
    out = run_python(
        """
        import importlib
        import flytekitplugins.openai.batch.connector as module
        from flytekitplugins.openai.batch._compat import lookup_connector, register_once
        importlib.reload(module)
        register_once(module.BatchEndpointConnector, "openai-batch")
        print(isinstance(lookup_connector("openai-batch"), module.BatchEndpointConnector))
        """
    )
    assert out.split() == ["True"]
