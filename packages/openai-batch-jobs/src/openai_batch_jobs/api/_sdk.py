"""The `openai` module, imported on first use and safe to reach from many threads at once.

Importing the SDK costs ~0.3 s, and flytekit imports every plugin at `import flytekit`, so nothing
here imports it up front. The first access loads the whole module under a lock and keeps it: other
code may already have put a lazy module in `sys.modules` (flytekit's `lazy_module` does, through
`importlib.util.LazyLoader`), whose first attribute access runs the import while other threads can
see it half done; here the load finishes, once, before any caller reads an attribute of it.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType
from typing import Any

_lock = threading.Lock()
_module: ModuleType | None = None


def _load() -> ModuleType:
    global _module
    with _lock:
        if _module is None:
            module = importlib.import_module("openai")
            # Reading an attribute runs the import of a lazily loaded module to its end.
            getattr(module, "AsyncOpenAI")  # noqa: B009
            _module = module
        return _module


class _SDK:
    def __getattr__(self, name: str) -> Any:
        return getattr(_module or _load(), name)


openai: Any = _SDK()
