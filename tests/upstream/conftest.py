"""Upstream's own tests, vendored unchanged: code written for the public `flytekitplugins-openai` must
keep working, and these are what upstream checks it by.

- `test_openai_batch_connector.py`: flyteorg/flytekit, plugins/flytekit-openai/tests/openai_batch/
  test_connector.py (as of the rename of agent to connector, flytekit 1.16). It patches the SDK's
  `AsyncBatches.create` / `.retrieve`, so it also shows that the connector calls nothing else of the SDK.

Upstream marks its coroutine tests `@pytest.mark.asyncio` (pytest-asyncio); this conftest runs such a
test on an event loop of its own, so the suite needs no other pytest plugin. On flytekit 1.15, which
has no `base_connector` module for the test to import, the file is not collected.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect

import pytest

collect_ignore = (
    []
    if importlib.util.find_spec("flytekit.extend.backend.base_connector")
    else ["test_openai_batch_connector.py"]
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "asyncio: a coroutine test of upstream's, run on its own event loop")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if pyfuncitem.get_closest_marker("asyncio") is None or not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True
