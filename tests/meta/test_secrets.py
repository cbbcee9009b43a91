"""A whole workflow run at DEBUG logging leaves the API key nowhere a user or operator could read it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import pytest
from flytekit.configuration import Image, ImageConfig, SerializationSettings
from flytekit.models.task import TaskSpec
from flytekit.tools.translator import get_serializable

from flytekitplugins.openai import create_batch
from openai_batch_emulator import Emulator

from .conftest import SECRET
from .pyflyte_runs import run_example

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-proj-fake-leakcheck-0123456789abcdefghijklmnop"
WRONG_KEY = "sk-proj-fake-wrongkey-9876543210zyxwvutsrqponmlk"


@pytest.fixture
def keyed_emulator(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(data_dir=tmp_path / "emulator", api_key=KEY) as running:
        yield running


def pyflyte_run(emulator: Emulator, key: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    requests = workdir / "requests.jsonl"
    requests.write_text((ROOT / "examples/data/chat_requests.jsonl").read_text())
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "_FSEC_", "FLYTE_OPENAI"))},
        "_FSEC_OPENAI_API_KEY": key,
        "FLYTE_OPENAI_API_KEY": key,
        "OPENAI_BASE_URL": emulator.base_url,
        "FLYTE_SDK_LOGGING_LEVEL": "10",  # DEBUG, flytekit's own loggers included
        "OPENAI_LOG": "debug",  # the SDK logs every request it sends
    }
    return run_example(requests, env, "--verbose")


def leaked_in_files(folder: Path, secret: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


@pytest.mark.slow
def test_a_debug_run_logs_no_key(keyed_emulator: Emulator, tmp_path: Path) -> None:
    run = pyflyte_run(keyed_emulator, KEY, tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "DEBUG" in run.stdout + run.stderr, "the run was not at DEBUG level, so this test proves nothing"
    assert KEY not in run.stdout + run.stderr
    assert KEY[8:] not in run.stdout + run.stderr  # nor its body without the prefix
    assert leaked_in_files(tmp_path, KEY) == []  # outputs, decks and anything else the run wrote here


@pytest.mark.slow
def test_a_rejected_key_is_not_echoed_in_the_failure(keyed_emulator: Emulator, tmp_path: Path) -> None:
    run = pyflyte_run(keyed_emulator, WRONG_KEY, tmp_path)
    assert run.returncode != 0
    assert "401" in run.stdout + run.stderr or "API key" in run.stdout + run.stderr
    assert WRONG_KEY not in run.stdout + run.stderr
    assert WRONG_KEY[8:24] not in run.stdout + run.stderr


def test_task_templates_name_the_secret_not_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_FSEC_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("FLYTE_OPENAI_API_KEY", KEY)
    settings = SerializationSettings(
        project="p",
        domain="d",
        version="v",
        image_config=ImageConfig(default_image=Image("d", "localhost/i", "t")),
    )
    entities: OrderedDict = OrderedDict()
    get_serializable(
        entities, settings, create_batch(name="secrets", secret=SECRET, base_url="http://x.invalid/v1")
    )
    serialized = json.dumps([str(e.to_flyte_idl()) for e in entities.values()])
    assert KEY not in serialized
    upload = next(
        e.template for e in entities.values() if isinstance(e, TaskSpec) and "upload" in e.template.id.name
    )
    (requested,) = upload.security_context.secrets  # the pod asks Flyte for the secret by name
    assert (requested.group, requested.key) == (SECRET.group, SECRET.key)


SECRET_PROBE = """
import json
from flytekit import FlyteContextManager
from flytekit.core.context_manager import ExecutionState
from flytekit.models.security import Secret
from openai_batch_jobs.errors import MissingSecret
from flytekitplugins.openai.core.keys import flyte_secret_value
ctx = FlyteContextManager.current_context()
local = ctx.with_execution_state(ctx.new_execution_state().with_params(mode=ExecutionState.Mode.LOCAL_TASK_EXECUTION))
with FlyteContextManager.with_context(local):  # as in `pyflyte run`
    try:
        print(json.dumps({"value": flyte_secret_value(Secret(group="openai", key="api_key"))}))
    except MissingSecret as e:
        print(json.dumps({"env_vars": e.env_vars, "file": e.file_path, "message": str(e)}))
"""


def probe_secret(env: dict[str, str]) -> dict[str, object]:
    """Read the upload step's secret in a fresh local-run process with only `env` set for it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "_FSEC_", "FLYTE_"))}
    run = subprocess.run(
        [sys.executable, "-c", SECRET_PROBE], env=clean | env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
def test_missing_secret_names_the_variables_and_file_a_local_run_reads(tmp_path: Path) -> None:
    secrets_dir = tmp_path / "secrets"
    base = {"FLYTE_SECRETS_DEFAULT_DIR": str(secrets_dir)}
    missing = probe_secret(base)
    assert missing["env_vars"] == ["OPENAI_API_KEY", "_FSEC_OPENAI_API_KEY"]
    assert missing["file"] == str(secrets_dir / "openai" / "api_key")
    message = str(missing["message"])
    assert message.startswith("The OpenAI API key secret (group='openai', key='api_key') is not available. ")
    assert (
        "A local run reads it from the environment variable OPENAI_API_KEY or _FSEC_OPENAI_API_KEY, "
        f"or the file {secrets_dir / 'openai' / 'api_key'}: set OPENAI_API_KEY." in message
    )
    # Each place the message names is one flytekit really reads.
    for name in ("OPENAI_API_KEY", "_FSEC_OPENAI_API_KEY"):
        assert probe_secret(base | {name: "from-" + name}) == {"value": "from-" + name}
    (secrets_dir / "openai").mkdir(parents=True)
    (secrets_dir / "openai" / "api_key").write_text("from-file\n")
    assert probe_secret(base) == {"value": "from-file"}
