"""What the tasks serialize: types, interfaces, custom (never a key), images, and BatchResult round trips."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from flytekit import Secret
from flytekit.configuration import Image, ImageConfig, SerializationSettings
from flytekit.configuration.default_images import PythonVersion
from flytekit.core.context_manager import FlyteContextManager
from flytekit.core.type_engine import TypeEngine
from flytekit.tools.translator import get_serializable
from flytekit.types.file import JSONLFile
from google.protobuf.json_format import MessageToJson

from flytekitplugins.openai.files import (
    BatchResult,
    DownloadJSONFilesTask,
    OpenAIFileConfig,
    OpenAIFileDefaultImages,
    UploadJSONLFileTask,
)
from flytekitplugins.openai.files import images as images_module

SETTINGS = SerializationSettings(
    project="p",
    domain="d",
    version="v1",
    image_config=ImageConfig(default_image=Image(name="d", fqn="img", tag="t")),
)


def serialized(task: UploadJSONLFileTask | DownloadJSONFilesTask) -> str:
    spec = get_serializable({}, SETTINGS, task)
    return MessageToJson(spec.template.to_flyte_idl())


def config(**kwargs: object) -> OpenAIFileConfig:
    return OpenAIFileConfig(Secret(group="openai", key="api_key"), **kwargs)  # type: ignore[arg-type]


@pytest.mark.slow
def test_upload_task_template() -> None:
    task = UploadJSONLFileTask("up", config(openai_organization="org-1"), max_requests=10, max_bytes=1000)
    spec = get_serializable({}, SETTINGS, task)
    template = spec.template
    assert template.type == "openai-batch-upload-file"
    assert list(template.interface.inputs) == ["jsonl_in"]
    assert list(template.interface.outputs) == ["result"]
    assert template.custom == {
        "openai_organization": "org-1",
        "secret_arg": {"group": "openai", "key": "api_key", "group_version": None, "mount_requirement": 0},
        "max_retries": 5,
        "limits": {"max_requests": 10, "max_bytes": 1000},
    }
    assert [s.group for s in template.security_context.secrets] == ["openai"]
    args = template.container.args
    assert args[0] == "pyflyte-execute"
    assert args[-1] == "flytekitplugins.openai.files.upload.UploadJSONLFileExecutor"


def test_download_task_template() -> None:
    task = DownloadJSONFilesTask(
        "down", config(base_url="http://127.0.0.1:1/v1"), fail_on_missing_requests=True
    )
    template = get_serializable({}, SETTINGS, task).template
    assert template.type == "openai-batch-download-files"
    assert list(template.interface.inputs) == ["batch_endpoint_result"]
    assert template.custom["base_url"] == "http://127.0.0.1:1/v1"
    assert template.custom["fail_on_missing_requests"] is True
    assert template.container.args[-1] == "flytekitplugins.openai.files.download.DownloadJSONFilesExecutor"


def test_base_url_is_left_out_when_unset() -> None:
    assert "base_url" not in UploadJSONLFileTask("up", config()).task_template.custom


def test_secret_value_never_reaches_the_template(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-fake-template-canary-0123456789"
    monkeypatch.setenv("_FSEC_OPENAI_API_KEY", key)
    monkeypatch.setenv("OPENAI_API_KEY", key)
    for task in (UploadJSONLFileTask("up", config()), DownloadJSONFilesTask("down", config())):
        assert key not in serialized(task)


def test_config_is_upstream_compatible_positionally() -> None:
    secret = Secret(group="g", key="k")
    cfg = OpenAIFileConfig(secret, "org")
    assert (cfg.secret, cfg.openai_organization, cfg.base_url) == (secret, "org", None)
    with pytest.raises(TypeError, match="flytekit Secret"):
        OpenAIFileConfig("not a secret")  # type: ignore[arg-type]


def test_default_images_follow_the_plugin_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLYTE_INTERNAL_IMAGE", raising=False)
    version = OpenAIFileDefaultImages.get_version_suffix()
    here = f"py{sys.version_info.major}.{sys.version_info.minor}"
    assert (
        OpenAIFileDefaultImages.default_image()
        == f"ghcr.io/flytekitplugins-openai/openai-batch-files:{here}-{version}"
    )
    for pv, tag in (
        (PythonVersion.PYTHON_3_10, "py3.10"),
        (PythonVersion.PYTHON_3_11, "py3.11"),
        (PythonVersion.PYTHON_3_12, "py3.12"),
    ):
        assert (
            OpenAIFileDefaultImages.find_image_for(pv) == f"{images_module.IMAGE_REPOSITORY}:{tag}-{version}"
        )
    assert OpenAIFileDefaultImages.find_image_for(PythonVersion.PYTHON_3_12, "v1.2.3").endswith(
        ":py3.12-1.2.3"
    )
    with pytest.raises(ValueError, match=r"Python 3\.9 .*supported: 3\.10, 3\.11, 3\.12"):
        OpenAIFileDefaultImages.find_image_for(PythonVersion.PYTHON_3_9)
    assert UploadJSONLFileTask("up", config()).container_image == OpenAIFileDefaultImages.find_image_for()


def test_version_suffix_is_latest_for_dev_and_local_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    for version, expected in (("0.3.0", "0.3.0"), ("0.3.0.dev4", "latest"), ("0.3.0+g1234", "latest")):
        monkeypatch.setattr(images_module.metadata, "version", lambda _name, v=version: v)
        assert OpenAIFileDefaultImages.get_version_suffix() == expected


def test_batch_result_round_trips_through_json(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"custom_id": "a"}\n')
    result = BatchResult(output_file=JSONLFile(str(out)))
    again = BatchResult.from_json(result.to_json())
    assert again.error_file is None
    assert again.output_file is not None
    assert Path(again.output_file.download()).read_text() == '{"custom_id": "a"}\n'
    assert json.loads(BatchResult().to_json()) == {"output_file": None, "error_file": None, "table": None}


def test_batch_result_round_trips_through_the_type_engine(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"custom_id": "a"}\n')
    ctx = FlyteContextManager.current_context()
    literal_type = TypeEngine.to_literal_type(BatchResult)
    literal = TypeEngine.to_literal(
        ctx, BatchResult(output_file=JSONLFile(str(out))), BatchResult, literal_type
    )
    back = TypeEngine.to_python_value(ctx, literal, BatchResult)
    assert isinstance(back, BatchResult)
    assert back.error_file is None
    assert back.output_file is not None
    assert Path(back.output_file.download()).read_text() == '{"custom_id": "a"}\n'


@pytest.mark.slow
def test_importing_the_plugin_does_not_load_the_sdk() -> None:
    """flytekit imports every plugin at `import flytekit`; the SDK must wait until a task runs."""
    code = (
        "import sys, flytekitplugins.openai.files as f; "
        "assert f.UploadJSONLFileTask; "
        "print('openai._client' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
