"""The workflows the recovery tests run with `pyflyte run`: a job of three parts (two requests each).

The input files are kept (``delete_input_files=False``) so that a test can count every file ever
uploaded through the SDK; `changed` differs from `parts` in one setting (the batches' metadata).
"""

from flytekit import Secret

from flytekitplugins.openai import create_batch

SECRET = Secret(group="openai", key="api_key")

parts = create_batch(
    name="recovery", secret=SECRET, is_json_iterator=False, max_requests=2, delete_input_files=False
)
changed = create_batch(
    name="recovery-changed",
    secret=SECRET,
    is_json_iterator=False,
    max_requests=2,
    delete_input_files=False,
    config={"metadata": {"setting": "changed"}},
)
