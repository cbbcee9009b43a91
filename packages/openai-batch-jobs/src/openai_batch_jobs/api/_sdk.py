"""The `openai` module, imported on first use and safe to reach from many threads at once.

Importing the SDK costs ~0.3 s, and flytekit imports every plugin at `import flytekit`, so nothing
here imports it up front. A plain `import` inside the accessor (not `importlib.util.LazyLoader`,
which flytekit's `lazy_module` uses) waits on the import system's module lock, so concurrent first
calls in a connector's worker threads see the whole module, never a half-initialised one.
"""

from __future__ import annotations

from typing import Any


class _SDK:
    def __getattr__(self, name: str) -> Any:
        import openai

        return getattr(openai, name)


openai: Any = _SDK()
