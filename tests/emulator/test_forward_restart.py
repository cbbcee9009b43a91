"""The forwarding server as its command runs it: killed (SIGKILL) mid-batch and started again on the same
data directory, it resumes the batch and every request is answered exactly once in the files; and this
project's own `create_batch` workflow, pointed at it with `base_url`, end to end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import openai
import pytest

from .forward_support import (
    CLIENT_KEY,
    DEADLINE,
    UPSTREAM_KEY,
    Act,
    Upstream,
    chat_lines,
    files_contain,
    wait_batch,
)
from .helpers import FINAL, read_lines, start_batch

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


@contextmanager
def forwarding_server(upstream_url: str, data_dir: Path, stderr: Path) -> Iterator[subprocess.Popen[str]]:
    """`openai-batch-server --forward-to URL`, its key in the environment only; killed on exit."""
    env = {**os.environ, "OPENAI_FORWARD_API_KEY": UPSTREAM_KEY}
    command = [
        str(BIN / "openai-batch-server"),
        *("--data-dir", str(data_dir), "--api-key", CLIENT_KEY, "--log-level", "info"),
        *("--forward-to", upstream_url, "--forward-concurrency", "4"),
        *("--forward-backoff-seconds", "0.01", "--forward-max-backoff-seconds", "0.05"),
        *("--validating-seconds", "0.05", "--finalizing-seconds", "0.05"),
    ]
    with stderr.open("a") as err:
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
    try:
        yield server
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(DEADLINE)
        assert server.stdout is not None
        server.stdout.close()


def base_url(server: subprocess.Popen[str]) -> str:
    assert server.stdout is not None
    return server.stdout.readline().strip()  # the first line, flushed at start


def test_sigkill_mid_batch_then_restart_answers_each_request_exactly_once(tmp_path: Path) -> None:
    ids = [f"k{i:03d}" for i in range(60)]
    first_part = set(ids[:15])
    resumed = {"on": False}

    def plan(content: str, attempt: int) -> Act:
        # The first 15 are answered; the others wait until the server has been killed and restarted.
        return Act() if content in first_part or resumed["on"] else Act(hold=True)

    data, stderr = tmp_path / "data", tmp_path / "stderr.log"
    with Upstream(plan) as upstream:
        with forwarding_server(upstream.base_url, data, stderr) as server:
            url = base_url(server)
            client = openai.OpenAI(base_url=url, api_key=CLIENT_KEY, max_retries=0)
            batch = start_batch(client, chat_lines(ids))
            upstream.wait_until(lambda: upstream.holding == 4, "four requests held upstream")
            wait_batch(client, batch.id, lambda b: b.request_counts.completed == 15, "15 answers")  # type: ignore[union-attr]
            server.send_signal(signal.SIGKILL)
            server.wait(DEADLINE)
        written = [
            json.loads(line)["custom_id"] for line in (data / "work" / batch.id / "output.jsonl").open()
        ]
        resumed["on"] = True
        upstream.gate.set()
        with forwarding_server(upstream.base_url, data, stderr) as server:
            assert base_url(server) == url  # same port: the client carries on
            done = wait_batch(client, batch.id, lambda b: b.status in FINAL, "the resumed batch")
            output = read_lines(client, done.output_file_id)
            errors = read_lines(client, done.error_file_id)
    answered = [line["custom_id"] for line in output + errors]
    print(f"exactly-once: {len(set(answered))} distinct of {len(answered)} lines for {len(ids)} requests")
    assert done.status == "completed"
    assert errors == []
    assert sorted(answered) == ids  # every request, exactly once
    assert sorted(written) == sorted(first_part)
    assert all(upstream.attempts[cid] == 1 for cid in written)  # a written answer is never asked again
    assert sum(upstream.attempts.values()) <= len(ids) + 4  # at most those in flight at the kill again
    assert done.request_counts is not None
    assert done.request_counts.completed == len(ids)
    assert files_contain(data, UPSTREAM_KEY) == []
    assert UPSTREAM_KEY not in stderr.read_text()


def test_create_batch_workflow_through_the_forwarding_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flytekit import Secret
    from flytekit.types.file import JSONLFile

    from flytekitplugins.openai import BatchResult, create_batch

    ids = [f"w{i}" for i in range(6)]
    source = tmp_path / "requests.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in chat_lines(ids)))
    with (
        Upstream() as upstream,
        forwarding_server(upstream.base_url, tmp_path / "data", tmp_path / "stderr.log") as server,
    ):
        url = base_url(server)
        monkeypatch.setenv("_FSEC_OPENAI_API_KEY", CLIENT_KEY)
        monkeypatch.setenv("FLYTE_OPENAI_API_KEY", CLIENT_KEY)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
        workflow = create_batch(
            name="forwarded",
            secret=Secret(group="openai", key="api_key"),
            is_json_iterator=False,
            base_url=url,
        )
        result = workflow(jsonl_in=JSONLFile(str(source)))
    assert isinstance(result, BatchResult)
    output = [json.loads(line) for line in Path(str(result.output_file)).read_text().splitlines()]
    assert sorted(line["custom_id"] for line in output) == ids
    assert all(
        line["response"]["body"]["choices"][0]["message"]["content"] == "Re: " + line["custom_id"]
        for line in output
    )
    assert upstream.authorizations == {f"Bearer {UPSTREAM_KEY}"}
