"""flytekit 1.15 says "agent" where 1.16 says "connector"; this module gives one name to each piece.

flytekit 1.16 keeps `base_agent` as aliases of `base_connector`, so importing the connector names
first and falling back to the agent names covers both without touching deprecated paths on 1.16.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flytekit.extend.backend.base_connector import AsyncConnectorBase as AsyncConnectorBase
    from flytekit.extend.backend.base_connector import AsyncConnectorExecutorMixin as AsyncExecutorMixin
    from flytekit.extend.backend.base_connector import ConnectorRegistry as Registry
    from flytekit.extend.backend.base_connector import Resource as Resource
    from flytekit.extend.backend.base_connector import ResourceMeta as ResourceMeta
    from flytekit.extend.backend.base_connector import SyncConnectorBase as SyncConnectorBase
    from flytekit.extend.backend.base_connector import SyncConnectorExecutorMixin as SyncExecutorMixin
else:
    try:
        from flytekit.extend.backend.base_connector import (
            AsyncConnectorBase,
            Resource,
            ResourceMeta,
            SyncConnectorBase,
        )
        from flytekit.extend.backend.base_connector import AsyncConnectorExecutorMixin as AsyncExecutorMixin
        from flytekit.extend.backend.base_connector import ConnectorRegistry as Registry
        from flytekit.extend.backend.base_connector import SyncConnectorExecutorMixin as SyncExecutorMixin
    except ImportError:  # flytekit 1.15
        from flytekit.extend.backend.base_agent import AgentRegistry as Registry
        from flytekit.extend.backend.base_agent import AsyncAgentBase as AsyncConnectorBase
        from flytekit.extend.backend.base_agent import AsyncAgentExecutorMixin as AsyncExecutorMixin
        from flytekit.extend.backend.base_agent import Resource, ResourceMeta
        from flytekit.extend.backend.base_agent import SyncAgentBase as SyncConnectorBase
        from flytekit.extend.backend.base_agent import SyncAgentExecutorMixin as SyncExecutorMixin

__all__ = [
    "AsyncConnectorBase",
    "AsyncExecutorMixin",
    "Registry",
    "Resource",
    "ResourceMeta",
    "SyncConnectorBase",
    "SyncExecutorMixin",
    "lookup_connector",
    "register_once",
]


def lookup_connector(task_type: str) -> Any:
    """The connector registered for `task_type` (1.15 has only `get_agent`, 1.16 keeps it as an alias)."""
    return Registry.get_agent(task_type)


def register_once(connector_type: type, task_type: str) -> None:
    """Put a `connector_type` in flytekit's registry for `task_type` once, however often its module is imported."""
    try:
        existing = lookup_connector(task_type)
    except Exception:  # flytekit's not-found error has another name in each version
        existing = None
    if not isinstance(existing, connector_type):
        Registry.register(connector_type(), override=existing is not None)
