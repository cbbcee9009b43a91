"""A server of the OpenAI Files and Batch APIs: try and test batch workflows with no key and no bill, or
put the Batch API in front of your own OpenAI-compatible model server (`ForwardOptions`).

Where things are:

- `server/`: the HTTP application, `Emulator` (in a thread), the command line, the pytest fixtures.
- `batches/`: the Batch API: a batch's lifecycle, its input's validation, its result files.
- `files/`: the Files API and the data directory everything is kept in.
- `answers/`: the made-up model answers, for batch lines and the synchronous endpoints alike.
- `forwarding/`: batches answered by an OpenAI-compatible server instead (`ForwardOptions`).
- `faults/`: failures on purpose: HTTP faults, and batch requests that fail.
- `settings`: `Settings`, the knobs (speeds, limits, failure rules) a batch copies when it is created.
- `errors`: OpenAI's error shape, which every failure a client sees has.
- `_lists`: OpenAI's list pages (`after`, `limit`), shared by the files and batches listings.
- `__main__`: `python -m openai_batch_emulator`, the command line of `server/cli`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .forwarding.options import ForwardOptions
    from .server.emulator import Emulator
    from .settings import Settings

__all__ = ["Emulator", "ForwardOptions", "Settings"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: the pytest plugin imports this package in every pytest run of the
    # workspace, and the server stack (uvicorn, starlette) is not free to import.
    if name == "Emulator":
        from .server.emulator import Emulator

        return Emulator
    if name == "ForwardOptions":
        from .forwarding.options import ForwardOptions

        return ForwardOptions
    if name == "Settings":
        from .settings import Settings

        return Settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
