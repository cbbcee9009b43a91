"""The results tests run real emulator batches through the openai SDK; the lifecycle is shortened."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def emulator_settings() -> dict[str, Any]:
    return {
        "validating_seconds": 0.05,
        "finalizing_seconds": 0.05,
        "cancelling_seconds": 0.05,
        "requests_per_second": 20_000,
    }
