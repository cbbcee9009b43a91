"""The documented FlytePropeller configuration routes every task type our connectors serve.

The task types come from the code (flytekit's connector registry after importing the plugins), so a
new connector task that the docs forget fails here instead of on a user's cluster.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
# The two names FlytePropeller's plugin has had: flytekit 1.16's connectors, 1.15's agents.
PLUGINS = {"connector-service": "connectorForTaskTypes", "agent-service": "agentForTaskTypes"}


def connector_task_types() -> set[str]:
    """Every task type a connector of ours is registered for."""
    import flytekitplugins.openai.batch
    import flytekitplugins.openai.chatgpt  # noqa: F401
    from flytekitplugins.openai.batch._compat import Registry

    return {
        category.name
        for category, connector in Registry._REGISTRY.items()
        if type(connector).__module__.startswith("flytekitplugins.openai.")
    }


def propeller_configs() -> list[tuple[str, dict]]:
    """Each documented YAML block that configures FlytePropeller's connector or agent plugin."""
    found = []
    for doc in DOCS:
        for block in re.findall(r"^```yaml\n(.*?)^```$", doc.read_text(), flags=re.MULTILINE | re.DOTALL):
            config = yaml.safe_load(block)
            if isinstance(config, dict) and any(p in config.get("plugins", {}) for p in PLUGINS):
                found.append((doc.relative_to(ROOT).as_posix(), config))
    return found


def routes(entries: list[dict[str, str]]) -> dict[str, str]:
    """FlytePropeller's lists of one-key maps, as one map."""
    return {key: value for entry in entries for key, value in entry.items()}


def test_the_code_has_the_connector_task_types_we_expect() -> None:
    # Not the check itself (that is below), but a guard that the registry was read at all.
    assert {"openai-batch", "openai-batch-job", "chatgpt"} <= connector_task_types()


def test_both_plugin_names_are_documented() -> None:
    documented = {
        plugin for _, config in propeller_configs() for plugin in PLUGINS if plugin in config["plugins"]
    }
    assert documented == set(PLUGINS)


@pytest.mark.parametrize(("doc", "config"), propeller_configs())
def test_every_connector_task_type_is_routed(doc: str, config: dict) -> None:
    task_types = connector_task_types()
    (plugin,) = [p for p in PLUGINS if p in config["plugins"]]
    defaults = routes(config["tasks"]["task-plugins"]["default-for-task-types"])
    assert plugin in config["tasks"]["task-plugins"]["enabled-plugins"], doc
    missing = {t for t in task_types if defaults.get(t) != plugin}
    assert not missing, f"{doc}: default-for-task-types does not send {sorted(missing)} to {plugin}"
    services = config["plugins"][plugin]
    endpoints = services["connectors" if plugin == "connector-service" else "agents"]
    by_type = routes(services[PLUGINS[plugin]])
    unrouted = {t for t in task_types if by_type.get(t) not in endpoints}
    assert not unrouted, f"{doc}: {PLUGINS[plugin]} does not route {sorted(unrouted)} to a listed endpoint"


def test_the_image_docs_name_every_connector_task_type() -> None:
    text = (ROOT / "images" / "README.md").read_text()
    missing = {t for t in connector_task_types() if f"`{t}`" not in text}
    assert not missing, f"images/README.md does not name {sorted(missing)}"
