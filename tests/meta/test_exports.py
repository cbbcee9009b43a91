"""The meta package exports the public names of its parts, as the same objects."""

from __future__ import annotations

import pytest

import flytekitplugins.openai as meta
from flytekitplugins.openai.batch import agent, connector, task, workflow
from flytekitplugins.openai.batch.job import connector as job_connector
from flytekitplugins.openai.batch.job import task as job_task
from flytekitplugins.openai.chatgpt import agent as chatgpt_agent
from flytekitplugins.openai.chatgpt import connector as chatgpt_connector
from flytekitplugins.openai.chatgpt import task as chatgpt_task
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
    "ChatGPTTask",
    "ChatGPTConnector",
    "ChatGPTAgent",
    "BatchJobTask",
    "BatchJobConnector",
    "BatchJobAgent",
    "UploadPartsTask",
    "CollectResultsTask",
    "JobRoundTask",
    "JobTaskDeclaration",
    "RoundState",
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
    assert meta.create_batch is workflow.create_batch
    assert meta.BatchJobTask is job_task.BatchJobTask
    assert meta.BatchJobConnector is job_connector.BatchJobConnector
    assert meta.ChatGPTTask is chatgpt_task.ChatGPTTask
    assert meta.ChatGPTConnector is chatgpt_connector.ChatGPTConnector
    assert meta.ChatGPTAgent is chatgpt_agent.ChatGPTAgent is meta.ChatGPTConnector


LAZY = """
import sys
import flytekitplugins.openai as meta
assert not [m for m in sys.modules if m.startswith(("flytekitplugins.openai.", "openai_batch_jobs"))], sorted(sys.modules)
from flytekitplugins.openai.chatgpt.task import ChatGPTTask
assert "flytekitplugins.openai.batch.workflow" not in sys.modules
from flytekitplugins.openai import create_batch
assert create_batch is sys.modules["flytekitplugins.openai.batch.workflow"].create_batch
assert "create_batch" in dir(meta)
"""


@pytest.mark.slow
def test_the_meta_package_imports_its_parts_only_when_a_name_is_used() -> None:
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", LAZY], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_an_unknown_name_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = meta.Nope  # type: ignore[attr-defined]
