"""Fixtures shared by every test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.wheels import built_wheels


@pytest.fixture(scope="session")
def plugin_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workspace's wheels, built once and shared by all xdist workers of this session."""
    basetemp = tmp_path_factory.getbasetemp()
    # Under xdist each worker has its own basetemp inside one folder per run.
    shared = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    return built_wheels(shared)
