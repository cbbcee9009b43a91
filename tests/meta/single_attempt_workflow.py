"""A create_batch workflow that sends each request once (`max_request_attempts=1`), for test_run_messages."""

from flytekit import Secret

from flytekitplugins.openai import create_batch

single_attempt_batch = create_batch(
    name="single-attempt",
    secret=Secret(group="openai", key="api_key"),
    is_json_iterator=False,
    max_request_attempts=1,
)
