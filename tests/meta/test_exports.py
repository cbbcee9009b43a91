"""The meta package exports the public names of its parts, as the same objects."""

from __future__ import annotations

import flytekitplugins.openai as meta
from flytekitplugins.openai.batch import agent, connector, task
from flytekitplugins.openai.files import BatchResult, OpenAIFileConfig

PUBLIC = {
    "create_batch",
    "BatchEndpointTask",
    "BatchEndpointAgent",
    "BatchEndpointConnector",
    "BatchResult",
    "DownloadJSONFilesTask",
    "UploadJSONLFileTask",
    "OpenAIFileConfig",
    "OpenAIFileDefaultImages",
}


def test_every_public_name_is_exported() -> None:
    assert set(meta.__all__) >= PUBLIC
    for name in meta.__all__:
        assert getattr(meta, name) is not None


def test_exports_are_the_parts_objects() -> None:
    assert meta.BatchEndpointTask is task.BatchEndpointTask
    assert meta.BatchEndpointConnector is connector.BatchEndpointConnector
    assert meta.BatchEndpointAgent is agent.BatchEndpointAgent
    assert meta.BatchResult is BatchResult is task.BatchResult
    assert meta.OpenAIFileConfig is OpenAIFileConfig is task.OpenAIFileConfig
