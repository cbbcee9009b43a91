"""The plugin and the emulator each keep their own list of Batch endpoints; they must name the same ones.

They are separate packages' data on purpose (the emulator depends on no plugin, the plugin on no
emulator), so this test is what keeps them from drifting apart.
"""

from __future__ import annotations

from openai_batch_emulator.batches.create import SPEC_ENDPOINTS
from openai_batch_jobs.api.batch_api import BATCH_ENDPOINTS


def test_the_plugin_and_the_emulator_accept_the_same_batch_endpoints() -> None:
    assert len(set(SPEC_ENDPOINTS)) == len(SPEC_ENDPOINTS)
    assert set(SPEC_ENDPOINTS) == BATCH_ENDPOINTS
