"""Fixtures of the Flyte 2 suite: the emulator (the `emulator` fixture of openai-batch-emulator's
pytest plugin) with fast batches, and the environment a user's script runs with."""

from __future__ import annotations

import os
from typing import Any

import pytest

from openai_batch_emulator import Emulator


@pytest.fixture
def emulator_settings() -> dict[str, Any]:
    return {"validating_seconds": 0.1, "finalizing_seconds": 0.1}


@pytest.fixture
def user_env(emulator: Emulator) -> dict[str, str]:
    """Only what the docs say a user sets, and PATH / HOME to run at all."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "OPENAI_BASE_URL": emulator.base_url,
        "OPENAI_API_KEY": emulator.api_key,
        "FLYTE_OPENAI_API_KEY": emulator.api_key,
    }
