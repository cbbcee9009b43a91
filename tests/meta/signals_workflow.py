"""The workflow test_run_signals runs with `pyflyte run`: create_batch's defaults, parts of 4 requests."""

from flytekit import Secret

from flytekitplugins.openai import create_batch

signals_batch = create_batch(
    name="signals",
    secret=Secret(group="openai", key="api_key"),
    is_json_iterator=False,
    max_requests=4,
)
