"""Each plugin wheel installs alone, outside the workspace, and imports (as users install them)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.wheels import clean_venv, pip_install, wheel_for

pytestmark = pytest.mark.slow

# What each install must make importable, run with `python -I` so nothing leaks in from the workspace.
CASES = {
    "openai-batch-jobs": (
        "import openai_batch_jobs.report.results_table, openai_batch_jobs.inputs.split, sys\n"
        "assert 'flytekit' not in sys.modules\n"
        "import importlib.util\n"
        "assert importlib.util.find_spec('flytekit') is None\n"
    ),
    "flytekitplugins-openai-files": (
        "from flytekitplugins.openai.files import (BatchResult, DownloadJSONFilesExecutor, DownloadJSONFilesTask, "
        "OpenAIFileConfig, OpenAIFileDefaultImages, UploadJSONLFileExecutor, UploadJSONLFileTask)\n"
        "from flytekitplugins.openai.core import keys\n"
        "from openai_batch_jobs.api import batch_api, client, redact, retry\n"
        "import importlib.util\n"
        "assert importlib.util.find_spec('flytekitplugins.openai.batch') is None\n"
    ),
    "flytekitplugins-openai-batch": (
        "from flytekitplugins.openai.batch.task import (BatchEndpointTask, BatchResult, DownloadJSONFilesExecutor, "
        "DownloadJSONFilesTask, OpenAIFileConfig, OpenAIFileDefaultImages, UploadJSONLFileExecutor, "
        "UploadJSONLFileTask)\n"
        "from flytekitplugins.openai.batch.connector import BatchEndpointConnector\n"
        "from flytekitplugins.openai.batch.agent import BatchEndpointAgent\n"
        "from flytekitplugins.openai.core.keys import connector_api_key, connector_base_url\n"
    ),
    "flytekitplugins-openai": (
        "from flytekitplugins.openai import (create_batch, BatchEndpointTask, BatchEndpointAgent, "
        "BatchEndpointConnector, BatchResult, DownloadJSONFilesTask, UploadJSONLFileTask, OpenAIFileConfig, "
        "OpenAIFileDefaultImages)\n"
        "import flytekitplugins.openai.files, flytekitplugins.openai.batch\n"
    ),
}


@pytest.mark.parametrize("project", sorted(CASES))
def test_wheel_installs_alone_and_imports(project: str, plugin_wheels: Path, tmp_path: Path) -> None:
    python = clean_venv(tmp_path / "venv")
    # Only the one wheel is named; its parts come from the built dist folder, the rest from the index.
    pip_install(python, str(wheel_for(plugin_wheels, project)), find_links=plugin_wheels)
    result = subprocess.run(
        [str(python), "-I", "-c", CASES[project]], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr


def test_files_and_batch_wheels_together_without_the_meta_package(
    plugin_wheels: Path, tmp_path: Path
) -> None:
    python = clean_venv(tmp_path / "venv")
    wheels = [
        str(wheel_for(plugin_wheels, p))
        for p in ("openai-batch-jobs", "flytekitplugins-openai-files", "flytekitplugins-openai-batch")
    ]
    pip_install(python, *wheels)
    code = CASES["flytekitplugins-openai-batch"] + "import flytekitplugins.openai.files\n"
    result = subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_uv_build_builds_every_package(plugin_wheels: Path) -> None:
    names = sorted(p.name.split("-")[0] for p in plugin_wheels.glob("*.whl"))
    assert names == sorted(
        [
            "flytekitplugins_openai",
            "flytekitplugins_openai_batch",
            "flytekitplugins_openai_files",
            "flyteplugins_openai_batch",
            "openai_batch_emulator",
            "openai_batch_jobs",
        ]
    )
    assert len(list(plugin_wheels.glob("*.tar.gz"))) == 6
