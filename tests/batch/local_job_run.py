"""Run a BatchJobTask locally, as a user's script would: `python local_job_run.py BASE_URL FILE_ID...`."""

from __future__ import annotations

import sys

from flytekitplugins.openai.batch import BatchJobTask

if __name__ == "__main__":
    task = BatchJobTask(name="local-job-run", config={}, base_url=sys.argv[1])
    result = task(input_file_ids=sys.argv[2:])
    print("result:", [b["status"] for b in result.batches], flush=True)
