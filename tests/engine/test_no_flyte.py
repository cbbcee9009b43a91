"""The engine imports no Flyte: every module of `openai_batch_jobs` imports with flytekit, flyte,
flyteidl and grpc blocked, in a fresh interpreter (so nothing was imported before the block)."""

from __future__ import annotations

import subprocess
import sys

import pytest

BLOCK_AND_IMPORT = """
import importlib, pkgutil, sys

BLOCKED = ("flytekit", "flyte", "flyteidl", "flyteidl2", "grpc")

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: the engine must not import it")
        return None

sys.meta_path.insert(0, Block())
import openai_batch_jobs

names = ["openai_batch_jobs"] + [
    m.name for m in pkgutil.walk_packages(openai_batch_jobs.__path__, "openai_batch_jobs.")
]
for name in names:
    importlib.import_module(name)
assert not [m for m in sys.modules if m.split(".")[0] in BLOCKED]
# Importing the engine is cheap: the SDK is loaded when a client is first built.
assert "openai" not in sys.modules, "importing the engine imported openai"
print(len(names))
"""


@pytest.mark.slow
def test_every_engine_module_imports_with_flyte_blocked() -> None:
    run = subprocess.run([sys.executable, "-c", BLOCK_AND_IMPORT], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert int(run.stdout) >= 25  # the walk found the modules (not an empty package)
