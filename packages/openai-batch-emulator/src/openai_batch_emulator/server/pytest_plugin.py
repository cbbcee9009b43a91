"""pytest fixtures (auto-loaded through the `pytest11` entry point): a fresh emulator per test.

Each emulator gets its own temporary data directory and a free port, so tests are xdist-safe.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import openai

    from .emulator import Emulator


@pytest.fixture
def emulator_settings() -> dict[str, Any]:
    """Settings the `emulator` fixture starts with; override this fixture to change them for a module
    or directory (e.g. `return {"validating_seconds": 0.05}`)."""
    return {}


@pytest.fixture
def emulator(
    tmp_path_factory: pytest.TempPathFactory, emulator_settings: dict[str, Any]
) -> Iterator[Emulator]:
    """A running emulator; change its settings with `emulator.configure(...)` or `emulator_settings`."""
    from .emulator import Emulator  # imported here: the plugin loads in every pytest run

    with Emulator(data_dir=tmp_path_factory.mktemp("openai-emulator"), **emulator_settings) as running:
        yield running


@pytest.fixture
def openai_client(emulator: Emulator) -> Iterator[openai.OpenAI]:
    """An `openai.OpenAI` client talking to the `emulator` fixture."""
    with emulator.client() as client:
        yield client


@pytest.fixture
async def async_openai_client(emulator: Emulator) -> AsyncIterator[openai.AsyncOpenAI]:
    """An `openai.AsyncOpenAI` client for the `emulator` fixture (needs an async test runner plugin)."""
    async with emulator.async_client() as client:
        yield client
