"""OpenAI Batch API jobs from Flyte: upload -> batch -> download, in one workflow.

This is the meta package: it pins `flytekitplugins-openai-files` and `flytekitplugins-openai-batch`
to its own version and re-exports their public names, plus `create_batch`.
"""

# flytekitplugins.openai is shared by three distributions (files, batch and this one). In a
# plain site-packages they sit in one folder; in editable installs each lives in its own src/,
# so extend __path__ to every folder that holds a part, before importing any of them.
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)

from .batch.agent import BatchEndpointAgent
from .batch.connector import BatchEndpointConnector
from .batch.task import BatchEndpointTask
from .files import (
    BatchResult,
    DownloadJSONFilesExecutor,
    DownloadJSONFilesTask,
    OpenAIFileConfig,
    OpenAIFileDefaultImages,
    UploadJSONLFileExecutor,
    UploadJSONLFileTask,
)
from .workflow import create_batch

__all__ = [
    "BatchEndpointAgent",
    "BatchEndpointConnector",
    "BatchEndpointTask",
    "BatchResult",
    "DownloadJSONFilesExecutor",
    "DownloadJSONFilesTask",
    "OpenAIFileConfig",
    "OpenAIFileDefaultImages",
    "UploadJSONLFileExecutor",
    "UploadJSONLFileTask",
    "create_batch",
]
