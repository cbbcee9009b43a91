"""BatchEndpointTask: its public surface, what it serializes, and config checks at definition time."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.tools.translator import get_serializable

from flytekitplugins.openai.batch import task as task_module
from flytekitplugins.openai.batch.errors import BatchConfigError
from flytekitplugins.openai.batch.task import BatchEndpointTask
from flytekitplugins.openai.files.errors import OpenAIBatchError
from openai_batch_jobs.api.batch_config import ALLOWED_KEYS, BatchConfig
from openai_batch_jobs.inputs.validation import BATCH_ENDPOINTS

REFERENCE_NAMES = (
    "BatchEndpointTask",
    "BatchResult",
    "UploadJSONLFileTask",
    "UploadJSONLFileExecutor",
    "DownloadJSONFilesTask",
    "DownloadJSONFilesExecutor",
    "OpenAIFileConfig",
    "OpenAIFileDefaultImages",
)


def template(task: BatchEndpointTask) -> Any:
    settings = SerializationSettings(ImageConfig.auto_default_image())
    return get_serializable(OrderedDict(), settings, task).template


def test_task_module_exposes_the_reference_names() -> None:
    import flytekitplugins.openai.files as files

    for name in REFERENCE_NAMES:
        assert hasattr(task_module, name), name
        if name != "BatchEndpointTask":
            assert getattr(task_module, name) is getattr(files, name), name
    assert set(REFERENCE_NAMES) == set(task_module.__all__)


def test_template_has_type_interface_and_custom() -> None:
    task = BatchEndpointTask(
        name="gpt.batch", config={"endpoint": "/v1/embeddings"}, openai_organization="org-1"
    )
    tt = template(task)
    assert tt.type == "openai-batch"
    assert list(tt.interface.inputs) == ["input_file_id"]
    assert list(tt.interface.outputs) == ["result"]
    assert tt.custom == {"openai_organization": "org-1", "config": {"endpoint": "/v1/embeddings"}}
    assert tt.container is None


def test_custom_carries_base_url_and_partial_results_only_when_set() -> None:
    task = BatchEndpointTask(
        name="t", config={}, base_url="http://127.0.0.1:9/v1", accept_partial_results=True
    )
    assert template(task).custom == {
        "openai_organization": None,
        "config": {},
        "base_url": "http://127.0.0.1:9/v1",
        "accept_partial_results": True,
    }


def test_config_is_copied_so_later_changes_do_not_leak_in() -> None:
    config: dict[str, Any] = {"metadata": {"team": "a"}}
    task = BatchEndpointTask(name="t", config=config)
    config["metadata"]["team"] = "b"
    assert template(task).custom["config"] == {"metadata": {"team": "a"}}


def test_unknown_keys_are_rejected_listing_the_allowed_ones() -> None:
    with pytest.raises(BatchConfigError) as info:
        BatchEndpointTask(name="t", config={"endpont": "/v1/embeddings", "model": "x"})
    message = str(info.value)
    assert "endpont, model" in message
    assert "'t'" in message
    for key in ALLOWED_KEYS:
        assert key in message
    assert isinstance(info.value, OpenAIBatchError)
    assert isinstance(info.value, ValueError)


def test_input_file_id_in_config_says_it_is_an_input() -> None:
    with pytest.raises(BatchConfigError, match="input_file_id is the task's input"):
        BatchEndpointTask(name="t", config={"input_file_id": "file-1"})


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"completion_window": "48h"}, r"completion_window '48h'.*24h"),
        ({"completion_window": 24}, r"completion_window 24 "),
        ({"endpoint": "/v1/chat"}, r"endpoint '/v1/chat' .*/v1/chat/completions"),
        ({"endpoint": "v1/embeddings"}, r"endpoint 'v1/embeddings'"),
        ({"metadata": ["a"]}, r"metadata .* must be a dict"),
        ({"metadata": {"a": 1}}, r"strings to strings"),
        ({"metadata": {"flyte_task_execution": "x"}}, r"reserved"),
        ({"metadata": {f"k{i}": "v" for i in range(16)}}, r"16 pairs; at most 15"),
        ({"metadata": {"k" * 65: "v"}}, r"65 characters; at most 64"),
        ({"metadata": {"k": "v" * 513}}, r"513 characters; at most 512"),
        ({"output_expires_after": {"anchor": "created_at", "seconds": 60}}, r"output_expires_after"),
        ({"output_expires_after": {"anchor": "now", "seconds": 3600}}, r"output_expires_after"),
        ({"output_expires_after": {"seconds": 3600}}, r"output_expires_after"),
        ({"extra_headers": ["X-A"]}, r"extra_headers .* must be a dict with string keys"),
        ({"extra_headers": {"X-Count": 1}}, r"extra_headers .* strings to strings; 'X-Count'"),
        (
            {"extra_headers": {"authorization": "Bearer sk-x"}},
            r"may not set 'authorization'.*FLYTE_OPENAI_API_KEY",
        ),
        ({"extra_headers": {"Api-Key": "k"}}, r"may not set 'Api-Key'"),
        ({"extra_query": {"api-version": ["a"]}}, r"extra_query .* 'api-version'"),
        ({"extra_body": {"metadata": {}}}, r"extra_body .* repeats batches.create argument\(s\) metadata"),
        ({"extra_body": {"input_file_id": "f"}}, r"input_file_id is the task's input"),
        ({"timeout": 0}, r"timeout .* positive number of seconds"),
        ({"timeout": True}, r"timeout .* positive number of seconds"),
        ({"timeot": 5}, r"Unknown key\(s\).*timeot"),
    ],
)
def test_bad_values_are_rejected_at_definition_time(config: dict[str, Any], expected: str) -> None:
    with pytest.raises(BatchConfigError, match=expected):
        BatchEndpointTask(name="t", config=config)


def test_config_must_be_a_dict() -> None:
    with pytest.raises(BatchConfigError, match="must be a dict, got list"):
        BatchEndpointTask(name="t", config=[("endpoint", "/v1/embeddings")])  # type: ignore[arg-type]


@pytest.mark.parametrize("base_url", ["127.0.0.1:8000/v1", "ftp://host/v1", ""])
def test_base_url_must_be_http(base_url: str) -> None:
    with pytest.raises(BatchConfigError, match="base_url"):
        BatchEndpointTask(name="t", config={}, base_url=base_url)


def test_every_spec_endpoint_and_defaults() -> None:
    for endpoint in sorted(BATCH_ENDPOINTS):
        BatchEndpointTask(name="t", config={"endpoint": endpoint})
    parsed = BatchConfig.parse({})
    assert (parsed.completion_window, parsed.endpoint, parsed.metadata) == ("24h", "/v1/chat/completions", {})


def test_expiry_survives_a_protobuf_struct_round_trip() -> None:
    # Task templates carry custom as a Struct, which stores every number as a float.
    parsed = BatchConfig.parse({"output_expires_after": {"anchor": "created_at", "seconds": 7200.0}})
    assert parsed.output_expires_after == {"anchor": "created_at", "seconds": 7200}
    assert isinstance(parsed.output_expires_after["seconds"], int)


def test_the_sdks_per_call_options_pass_as_upstream_let_them() -> None:
    config = {
        "extra_headers": {"X-Team": "nlp"},
        "extra_query": {"api-version": "2024-10-21"},
        "extra_body": {"priority": "low"},
        "timeout": 4,
        "output_expires_after": {"anchor": "created_at", "seconds": 3600},
    }
    tt = template(BatchEndpointTask(name="t", config=config))
    parsed = BatchConfig.parse(tt.custom["config"])
    assert parsed.extra_headers == {"X-Team": "nlp"}
    assert parsed.extra_query == {"api-version": "2024-10-21"}
    assert parsed.timeout == 4.0
    assert parsed.body_extras() == {
        "priority": "low",
        "output_expires_after": {"anchor": "created_at", "seconds": 3600},
    }
