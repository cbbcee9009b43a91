"""Embed a JSONL file of documents with the Batch API's /v1/embeddings endpoint.

./uvw run --frozen pyflyte run examples/embeddings_workflow.py embeddings_batch --jsonl_in examples/data/embedding_requests.jsonl
"""

from flytekit import Secret

from flytekitplugins.openai import create_batch

OPENAI_SECRET = Secret(group="openai", key="api_key")

embeddings_batch = create_batch(
    name="embeddings",
    secret=OPENAI_SECRET,
    is_json_iterator=False,
    config={"endpoint": "/v1/embeddings"},
)
