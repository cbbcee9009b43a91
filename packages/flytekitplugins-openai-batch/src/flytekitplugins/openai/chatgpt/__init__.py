"""ChatGPTTask and its synchronous connector (agent), as the upstream `flytekitplugins-openai` had them.

flytekit imports this package at `import flytekit` (entry point `flytekit.plugins`), which registers
the connector for `chatgpt` tasks, so `pyflyte serve connector|agent` and local runs find it. The task
module is loaded on first use and `openai` on the first call, keeping that import cheap.

- `task`: `ChatGPTTask`, upstream's declaration (name, `openai_organization`, `chatgpt_config`).
- `connector`: `ChatGPTConnector`, one chat completion a call on the engine's `chat.answer`.
- `agent`: the connector under its flytekit 1.15 name (`ChatGPTAgent`).
- `config`: the `chatgpt_config` check (the engine's `chat.config`).
- `errors`: `ChatGPTConfigError`, the one exception the task raises on purpose.
"""

from __future__ import annotations

from typing import Any

from .connector import ChatGPTAgent, ChatGPTConnector

__all__ = ["ChatGPTAgent", "ChatGPTConnector", "ChatGPTTask"]


def __getattr__(name: str) -> Any:
    if name == "ChatGPTTask":
        from .task import ChatGPTTask

        return ChatGPTTask
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
