"""Each file task's custom is written and read by one settings class; a template it cannot read is named.

The templates go through the protobuf the way a pod gets them (numbers become floats), and bad ones
reach the executors by the method the pod's `pyflyte-execute` calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flytekit import Secret
from flytekit.models.task import TaskTemplate
from flytekit.types.file import JSONLFile

from flytekitplugins.openai.files import (
    DownloadJSONFilesExecutor,
    DownloadJSONFilesTask,
    OpenAIFileConfig,
    PartLimits,
    UploadJSONLFileExecutor,
    UploadJSONLFileTask,
)
from flytekitplugins.openai.files.settings import DownloadSettings, UploadSettings
from openai_batch_jobs.errors import TaskTemplateError
from tests.files.requests import good_file

SECRET = Secret(group="openai", key="api_key", group_version="v2", mount_requirement=Secret.MountType.FILE)


def through_protobuf(task: UploadJSONLFileTask | DownloadJSONFilesTask) -> TaskTemplate:
    return TaskTemplate.from_flyte_idl(task.task_template.to_flyte_idl())


def test_upload_settings_survive_the_template() -> None:
    config = OpenAIFileConfig(
        SECRET, openai_organization="org-1", base_url="http://127.0.0.1:1/v1", max_retries=2
    )
    task = UploadJSONLFileTask("wf.up", config, max_requests=10, max_bytes=1000)
    tt = through_protobuf(task)
    assert UploadSettings.from_custom(tt.custom, tt.id.name) == UploadSettings(
        config, PartLimits(requests=10, bytes=1000)
    )


def test_download_settings_survive_the_template() -> None:
    config = OpenAIFileConfig(SECRET)
    tt = through_protobuf(DownloadJSONFilesTask("wf.down", config, fail_on_missing_requests=True))
    assert DownloadSettings.from_custom(tt.custom, tt.id.name) == DownloadSettings(config, True)


def test_a_template_of_the_upstream_plugin_still_reads() -> None:
    # Upstream wrote only these two keys; the rest take their defaults.
    custom = {"openai_organization": None, "secret_arg": {"group": "openai", "key": "api_key"}}
    settings = UploadSettings.from_custom(custom, "up")
    assert settings.file_config == OpenAIFileConfig(Secret(group="openai", key="api_key"))
    assert settings.limits == PartLimits()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.pop("secret_arg"), r"custom lacks key 'secret_arg'"),
        (lambda c: c.update(retries=3), r"custom has unknown key 'retries' \(this plugin version knows"),
        (lambda c: c.update(max_retries="many"), r"'max_retries' must be a whole number, got 'many'"),
        (lambda c: c.update(limits={"max_requests": 0}), r"its limits are not usable"),
        (lambda c: c.update(limits={"max_lines": 5}), r"unknown key 'max_lines'"),
        (lambda c: c.update(secret_arg="openai/api_key"), r"'secret_arg' must be a dict"),
    ],
)
def test_an_upload_template_it_cannot_read_is_named(tmp_path: Path, change: Any, message: str) -> None:
    tt = through_protobuf(UploadJSONLFileTask("wf.up", OpenAIFileConfig(SECRET)))
    change(tt.custom)
    with pytest.raises(TaskTemplateError, match=message) as info:
        UploadJSONLFileExecutor().execute_from_model(
            tt, jsonl_in=JSONLFile(str(good_file(tmp_path / "in.jsonl")))
        )
    assert "openai-batch-upload-file task 'wf.up'" in str(info.value)


def test_a_download_template_it_cannot_read_is_named() -> None:
    tt = through_protobuf(DownloadJSONFilesTask("wf.down", OpenAIFileConfig(SECRET)))
    tt.custom["fail_on_missing_requests"] = "yes"
    with pytest.raises(TaskTemplateError, match=r"'fail_on_missing_requests' must be true or false") as info:
        DownloadJSONFilesExecutor().execute_from_model(tt, batch_endpoint_result={"output_file_id": "file-x"})
    assert "openai-batch-download-files task 'wf.down'" in str(info.value)
