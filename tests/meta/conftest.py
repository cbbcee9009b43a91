"""Fixtures of the meta-package tests: the environment a local workflow run needs."""

from __future__ import annotations

import pytest
from flytekit import Secret

from openai_batch_emulator import Emulator

SECRET = Secret(group="openai", key="api_key")


@pytest.fixture
def local_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point every step of a local run at the emulator, with keys where Flyte would put them."""
    env = {
        "_FSEC_OPENAI_API_KEY": emulator.api_key,  # the upload/download tasks' Flyte secret
        "FLYTE_OPENAI_API_KEY": emulator.api_key,  # the connector's secret
        "OPENAI_BASE_URL": emulator.base_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return env
