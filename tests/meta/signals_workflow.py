"""The workflow test_run_signals runs with `pyflyte run`: create_batch's defaults, parts of 4 requests."""

from flytekit import Secret

from flytekitplugins.openai import create_batch

signals_batch = create_batch(
    name="signals",
    secret=Secret(group="openai", key="api_key"),
    is_json_iterator=False,
    max_requests=4,
)

# The lean shape: one round and no table, so the collect step joins the parts without sorting them.
lean_batch = create_batch(
    name="lean",
    secret=Secret(group="openai", key="api_key"),
    is_json_iterator=False,
    max_requests=4,
    max_request_attempts=1,
    results_table=False,
)
