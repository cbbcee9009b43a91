"""OpenAI Batch API jobs from Flyte: upload -> batch -> download, in one workflow; and ChatGPTTask.

This is the meta package: it pins `flytekitplugins-openai-files` and `flytekitplugins-openai-batch`
to its own version and re-exports their public names (upstream's `flytekitplugins.openai` names
included: `create_batch`, `ChatGPTTask`, `ChatGPTConnector`/`ChatGPTAgent`).

The names resolve on first use (PEP 562): importing one part, or flytekit importing the plugins'
entry points, does not import the others. `python -m flytekitplugins.openai` (`__main__`) runs the
engine's recovery commands (`orphans`).
"""

from __future__ import annotations

# flytekitplugins.openai is shared by three distributions (files, batch and this one). In a
# plain site-packages they sit in one folder; in editable installs each lives in its own src/,
# so extend __path__ to every folder that holds a part, before importing any of them.
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)

import importlib
from typing import TYPE_CHECKING, Any

# public name -> the module (relative to this package) that defines it
_EXPORTS = {
    "BatchEndpointAgent": ".batch.agent",
    "BatchEndpointConnector": ".batch.connector",
    "BatchEndpointTask": ".batch.task",
    "BatchJobAgent": ".batch.job.connector",
    "BatchJobConnector": ".batch.job.connector",
    "BatchJobTask": ".batch.job.task",
    "create_batch": ".batch.workflow",
    "ChatGPTAgent": ".chatgpt.connector",
    "ChatGPTConnector": ".chatgpt.connector",
    "ChatGPTTask": ".chatgpt.task",
    "BatchResult": ".files",
    "CollectResultsExecutor": ".files",
    "CollectResultsTask": ".files",
    "DownloadJSONFilesExecutor": ".files",
    "DownloadJSONFilesTask": ".files",
    "JobRoundTask": ".files",
    "JobTaskDeclaration": ".files",
    "OpenAIFileConfig": ".files",
    "OpenAIFileDefaultImages": ".files",
    "RoundState": ".files",
    "UploadJSONLFileExecutor": ".files",
    "UploadJSONLFileTask": ".files",
    "UploadPartsExecutor": ".files",
    "UploadPartsTask": ".files",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # for type checkers and IDEs; at run time `__getattr__` resolves them
    from .batch.agent import BatchEndpointAgent as BatchEndpointAgent
    from .batch.connector import BatchEndpointConnector as BatchEndpointConnector
    from .batch.job.connector import BatchJobAgent as BatchJobAgent
    from .batch.job.connector import BatchJobConnector as BatchJobConnector
    from .batch.job.task import BatchJobTask as BatchJobTask
    from .batch.task import BatchEndpointTask as BatchEndpointTask
    from .batch.workflow import create_batch as create_batch
    from .chatgpt.connector import ChatGPTAgent as ChatGPTAgent
    from .chatgpt.connector import ChatGPTConnector as ChatGPTConnector
    from .chatgpt.task import ChatGPTTask as ChatGPTTask
    from .files import BatchResult as BatchResult
    from .files import CollectResultsExecutor as CollectResultsExecutor
    from .files import CollectResultsTask as CollectResultsTask
    from .files import DownloadJSONFilesExecutor as DownloadJSONFilesExecutor
    from .files import DownloadJSONFilesTask as DownloadJSONFilesTask
    from .files import JobRoundTask as JobRoundTask
    from .files import JobTaskDeclaration as JobTaskDeclaration
    from .files import OpenAIFileConfig as OpenAIFileConfig
    from .files import OpenAIFileDefaultImages as OpenAIFileDefaultImages
    from .files import RoundState as RoundState
    from .files import UploadJSONLFileExecutor as UploadJSONLFileExecutor
    from .files import UploadJSONLFileTask as UploadJSONLFileTask
    from .files import UploadPartsExecutor as UploadPartsExecutor
    from .files import UploadPartsTask as UploadPartsTask
