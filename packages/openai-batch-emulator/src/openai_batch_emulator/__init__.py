"""A server of the OpenAI Files and Batch APIs: try and test batch workflows with no key and no bill, or
put the Batch API in front of your own OpenAI-compatible model server (`ForwardOptions`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .forwarding import ForwardOptions
    from .server import Emulator
    from .settings import Settings

__all__ = ["Emulator", "ForwardOptions", "Settings"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: the pytest plugin imports this package in every pytest run of the
    # workspace, and the server stack (uvicorn, starlette) is not free to import.
    if name == "Emulator":
        from .server import Emulator

        return Emulator
    if name == "ForwardOptions":
        from .forwarding import ForwardOptions

        return ForwardOptions
    if name == "Settings":
        from .settings import Settings

        return Settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
