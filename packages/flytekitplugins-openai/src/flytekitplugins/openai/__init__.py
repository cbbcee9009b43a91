"""OpenAI Batch API jobs from Flyte: upload -> batch -> download, in one workflow; and ChatGPTTask.

This is the meta package: it pins `flytekitplugins-openai-files` and `flytekitplugins-openai-batch`
to its own version and re-exports their public names (upstream's `flytekitplugins.openai` names
included: `create_batch`, `ChatGPTTask`, `ChatGPTConnector`/`ChatGPTAgent`).
"""

# flytekitplugins.openai is shared by three distributions (files, batch and this one). In a
# plain site-packages they sit in one folder; in editable installs each lives in its own src/,
# so extend __path__ to every folder that holds a part, before importing any of them.
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)

from .batch.agent import BatchEndpointAgent
from .batch.connector import BatchEndpointConnector
from .batch.job_connector import BatchJobAgent, BatchJobConnector
from .batch.job_task import BatchJobTask
from .batch.task import BatchEndpointTask
from .batch.workflow import create_batch
from .chatgpt.connector import ChatGPTAgent, ChatGPTConnector
from .chatgpt.task import ChatGPTTask
from .files import (
    BatchResult,
    CollectResultsExecutor,
    CollectResultsTask,
    DownloadJSONFilesExecutor,
    DownloadJSONFilesTask,
    OpenAIFileConfig,
    OpenAIFileDefaultImages,
    UploadJSONLFileExecutor,
    UploadJSONLFileTask,
    UploadPartsExecutor,
    UploadPartsTask,
)

__all__ = [
    "BatchEndpointAgent",
    "BatchEndpointConnector",
    "BatchEndpointTask",
    "BatchJobAgent",
    "BatchJobConnector",
    "BatchJobTask",
    "BatchResult",
    "ChatGPTAgent",
    "ChatGPTConnector",
    "ChatGPTTask",
    "CollectResultsExecutor",
    "CollectResultsTask",
    "DownloadJSONFilesExecutor",
    "DownloadJSONFilesTask",
    "OpenAIFileConfig",
    "OpenAIFileDefaultImages",
    "UploadJSONLFileExecutor",
    "UploadJSONLFileTask",
    "UploadPartsExecutor",
    "UploadPartsTask",
    "create_batch",
]
