"""Run a BatchEndpointTask locally, as a user's script would: `python local_run.py BASE_URL INPUT_FILE_ID`."""

from __future__ import annotations

import sys

from flytekitplugins.openai.batch.task import BatchEndpointTask

if __name__ == "__main__":
    task = BatchEndpointTask(name="local-run", config={}, base_url=sys.argv[1])
    print("result:", task(input_file_id=sys.argv[2])["status"], flush=True)
