"""OpenAI Batch API jobs from Flyte: upload -> batch -> download, in one workflow."""

# flytekitplugins.openai is shared by three distributions (files, batch and this one). In a
# plain site-packages they sit in one folder; in editable installs each lives in its own src/,
# so extend __path__ to every folder that holds a part.
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
