"""A user's script of a local Flyte 2 run of `OpenAIBatch` on generated chat requests, and its runner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json, sys
import flyte
from flyteplugins.openai_batch import BatchResults, OpenAIBatch
from openai_batch_jobs.inputs.split import PartLimits

batch = OpenAIBatch("guarded", {{"endpoint": "/v1/chat/completions"}}, poll_interval_s=1, {settings})
env = flyte.TaskEnvironment(
    "guarded",
    secrets=[flyte.Secret(key="openai_api_key", as_env_var="OPENAI_API_KEY")],
    depends_on=[batch.env],
)


async def requests():
    for n in range({count}):
        yield {{
            "custom_id": f"q{{n:03d}}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {{"model": "gpt-4o-mini", "messages": [{{"role": "user", "content": f"Say {{n}}"}}]}},
        }}


@env.task
async def ask() -> BatchResults:
    return await batch.run(requests())


if __name__ == "__main__":
    flyte.init()
    results = flyte.with_runcontext(mode="local").run(ask).outputs()[0]
    found = {{}}
    for kind, file in (("answered", results.output_file), ("errors", results.error_file)):
        found[kind] = []
        if file is not None:
            with open(file.download_sync()) as lines:
                found[kind] = [json.loads(line) for line in lines]
    print("RESULTS " + json.dumps(found))
"""


def run_script(
    tmp_path: Path, env: dict[str, str], settings: str, count: int
) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "guarded.py"
    script.write_text(SCRIPT.format(settings=settings, count=count), encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
