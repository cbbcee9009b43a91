"""Run a JSONL file of chat-completion requests as one OpenAI batch.

./uvw run --frozen pyflyte run examples/jsonl_file_workflow.py jsonl_file_batch --jsonl_in examples/data/chat_requests.jsonl
"""

from flytekit import Secret

from flytekitplugins.openai import create_batch

# The upload and download tasks read the API key from this Flyte secret (locally: the
# environment variable _FSEC_OPENAI_API_KEY); the connector reads FLYTE_OPENAI_API_KEY.
OPENAI_SECRET = Secret(group="openai", key="api_key")

jsonl_file_batch = create_batch(
    name="jsonl-file",
    secret=OPENAI_SECRET,
    is_json_iterator=False,
    config={"metadata": {"example": "jsonl-file"}},
)
