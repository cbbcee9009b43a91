"""create_batch builds the upload -> batch -> download workflow that the public plugin builds."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterator  # noqa: UP035  (the type flytekit streams as JSONL)

import pytest
from flytekit.configuration import Image, ImageConfig, SerializationSettings
from flytekit.core.type_engine import DataclassTransformer
from flytekit.models.admin.workflow import WorkflowSpec
from flytekit.models.task import TaskSpec
from flytekit.tools.translator import get_serializable
from flytekit.types.file import JSONLFile
from flytekit.types.iterator import JSON

from flytekitplugins.openai import BatchResult, OpenAIFileDefaultImages, create_batch
from openai_batch_jobs.errors import BatchConfigError
from tests.support.python import run_python

from .conftest import SECRET

SETTINGS = SerializationSettings(
    project="p",
    domain="d",
    version="v",
    image_config=ImageConfig(default_image=Image(name="default", fqn="localhost/image", tag="t")),
)


def serialized_tasks(wf: object) -> dict[str, object]:
    entities: OrderedDict = OrderedDict()
    get_serializable(entities, SETTINGS, wf)
    # The workflow and its batch task share a name (as upstream), so keep tasks only.
    return {e.template.id.name: e.template for e in entities.values() if isinstance(e, TaskSpec)}


@pytest.mark.parametrize(("is_json_iterator", "input_type"), [(True, Iterator[JSON]), (False, JSONLFile)])
@pytest.mark.parametrize("max_request_attempts", [1, 3, 5])
def test_the_workflow_has_the_public_interface_and_upstreams_three_nodes(
    is_json_iterator: bool, input_type: type, max_request_attempts: int
) -> None:
    wf = create_batch(
        name="my.batch",
        secret=SECRET,
        is_json_iterator=is_json_iterator,
        max_request_attempts=max_request_attempts,
    )
    assert wf.name == "openai-batch-mybatch"
    assert wf.python_interface.inputs == {"jsonl_in": input_type}
    assert wf.python_interface.outputs == {"batch_output": BatchResult}
    # Upstream's three task names, however many attempts: later rounds are added only when needed.
    assert len(wf.nodes) == 3
    assert [n.flyte_entity.name for n in wf.nodes] == [
        "openai-file-upload-mybatch",
        "openai-batch-mybatch",
        "openai-download-files-mybatch",
    ]
    assert [n.flyte_entity.task_type for n in wf.nodes] == [
        "openai-batch-upload-parts",
        "openai-batch-job",
        "openai-batch-collect",
    ]
    collect = serialized_tasks(wf)["openai-download-files-mybatch"]
    assert (collect.custom["attempt"], collect.custom["max_request_attempts"]) == (1, max_request_attempts)
    # The collect step is loaded in its pod from its template, by the round resolver.
    assert collect.container.args[-3:] == [
        "flytekitplugins.openai.files.rounds.round_task_resolver",
        "--",
        "{{.taskTemplatePath}}",
    ]


def test_the_output_is_flytekits_dataclass_type_and_the_steps_connect() -> None:
    wf = create_batch(name="types", secret=SECRET)
    entities: OrderedDict = OrderedDict()
    get_serializable(entities, SETTINGS, wf)
    [spec] = [e for e in entities.values() if isinstance(e, WorkflowSpec)]
    tasks = serialized_tasks(wf)
    job, collect = tasks["openai-batch-types"], tasks["openai-download-files-types"]
    # What users read, schema included, is what flytekit's own transformer makes of BatchResult.
    batch_result = DataclassTransformer().get_literal_type(BatchResult).to_flyte_idl()
    assert spec.template.interface.outputs["batch_output"].type.to_flyte_idl() == batch_result
    assert collect.interface.outputs["result"].type.to_flyte_idl() == batch_result
    # The job task's result is the type the collect step takes (what FlytePropeller's compiler checks).
    assert job.interface.outputs["result"].type == collect.interface.inputs["job_result"].type
    # The upload's keys files are what the collect step takes as part_keys, bound to them.
    upload = tasks["openai-file-upload-types"]
    keys_type = upload.interface.outputs["keys"].type.collection_type
    assert keys_type in [
        v.collection_type for v in collect.interface.inputs["part_keys"].type.union_type.variants
    ]
    [node] = [n for n in spec.template.nodes if n.task_node.reference_id.name == collect.id.name]
    [upload_node] = [n for n in spec.template.nodes if n.task_node.reference_id.name == upload.id.name]
    keys = {b.var: b.binding for b in node.inputs}["part_keys"].promise
    assert (keys.node_id, keys.var) == (upload_node.id, "keys")


def test_a_lean_run_writes_no_keys() -> None:
    """One attempt and no table: the collect step joins the files and needs no keys; the upload
    task keeps the single output ``parts``."""
    tasks = serialized_tasks(
        create_batch(name="lean", secret=SECRET, max_request_attempts=1, results_table=False)
    )
    assert list(tasks["openai-file-upload-lean"].interface.outputs) == ["parts"]


@pytest.mark.slow
def test_building_the_workflow_leaves_the_json_schema_for_serialization() -> None:
    # In a process of its own: any test before may have built the schema in this one.
    out = run_python(
        """
        import sys
        from flytekit import Secret
        from flytekitplugins.openai import create_batch
        create_batch(name="lazy", secret=Secret(group="g", key="k"))
        print("mashumaro.jsonschema" in sys.modules)
        """
    )
    assert out.split() == ["False"]


def test_one_attempt_without_a_table_joins_the_files() -> None:
    wf = create_batch(name="once", secret=SECRET, max_request_attempts=1, results_table=False)
    collect = serialized_tasks(wf)["openai-download-files-once"]
    assert (collect.custom["max_request_attempts"], collect.custom["results_table"]) == (1, False)


def test_bad_knobs_fail_when_the_workflow_is_built() -> None:
    with pytest.raises(ValueError, match="max_request_attempts must be at least 1"):
        create_batch(name="none", secret=SECRET, max_request_attempts=0)
    with pytest.raises(ValueError, match="the price of 'gpt-x' must be"):
        create_batch(name="price", secret=SECRET, prices={"gpt-x": ["free"]})  # type: ignore[list-item]


def test_options_reach_the_tasks() -> None:
    wf = create_batch(
        name="opts",
        secret=SECRET,
        openai_organization="org-example",
        config={"endpoint": "/v1/embeddings", "metadata": {"team": "search"}},
        container_image="registry.example/files:1",
        base_url="https://llm.example/v1",
        file_upload_mem="2Gi",
        file_download_mem="3Gi",
    )
    templates = serialized_tasks(wf)
    upload, batch, download = (
        templates[f"openai-{kind}-opts"] for kind in ("file-upload", "batch", "download-files")
    )
    assert upload.container.image == download.container.image == "registry.example/files:1"
    assert batch.custom["config"]["endpoint"] == "/v1/embeddings"
    assert batch.custom["openai_organization"] == "org-example"
    assert batch.custom["base_url"] == upload.custom["base_url"] == "https://llm.example/v1"
    upload_node, _, _ = wf.nodes
    assert memory(upload_node) == ({"2Gi"}, {"2Gi"})
    # The collect step's own resources: the rounds it adds are declared with the same.
    resources = download.container.resources
    assert ({e.value for e in resources.requests}, {e.value for e in resources.limits}) == ({"3Gi"}, {"3Gi"})
    # The job task of a later round is declared from the step's template, as the first one is.
    assert download.custom["job"] == batch.custom
    assert download.custom["job_name"] == "openai-batch-opts"


def memory(node: Any) -> tuple[set[str], set[str]]:
    """The node's memory overrides, as (requests, limits)."""
    resources = node._resources
    return {e.value for e in resources.requests}, {e.value for e in resources.limits}


def test_the_default_image_is_the_published_files_image() -> None:
    templates = serialized_tasks(create_batch(name="img", secret=SECRET))
    assert templates["openai-file-upload-img"].container.image == OpenAIFileDefaultImages.find_image_for()


def test_public_plugin_call_styles_still_work() -> None:
    # Written for the public flytekitplugins-openai: positional name and secret, organization, config.
    wf = create_batch("legacy", SECRET, "org-x", {"completion_window": "24h"}, False, "1Gi", "1Gi")
    assert wf.python_interface.inputs == {"jsonl_in": JSONLFile}


def test_upload_limits_and_missing_request_policy_reach_the_tasks() -> None:
    wf = create_batch(
        name="limits", secret=SECRET, max_requests=10, max_bytes=4096, fail_on_missing_requests=True
    )
    templates = serialized_tasks(wf)
    upload, download = templates["openai-file-upload-limits"], templates["openai-download-files-limits"]
    # max_requests/max_bytes are the per-batch sizes: the one upload's limits, or each part's.
    limits = {
        (v.get("max_requests", v.get("requests")), v.get("max_bytes", v.get("bytes")))
        for v in walk(upload.custom)
    }
    assert (10, 4096) in limits
    assert True in {v.get("fail_on_missing_requests") for v in walk(download.custom)}


def test_endpoint_reaches_the_upload_and_server_clean_up_the_collect_step() -> None:
    wf = create_batch(
        name="clean",
        secret=SECRET,
        config={"endpoint": "/v1/embeddings"},
        delete_input_files=False,
        delete_result_files=True,
    )
    templates = serialized_tasks(wf)
    assert templates["openai-file-upload-clean"].custom["endpoint"] == "/v1/embeddings"
    collect = templates["openai-download-files-clean"].custom
    assert (collect["delete_input_files"], collect["delete_result_files"]) == (False, True)
    defaults = serialized_tasks(create_batch(name="dflt", secret=SECRET))["openai-download-files-dflt"].custom
    assert (defaults["delete_input_files"], defaults["delete_result_files"]) == (True, False)


def walk(custom: dict[str, Any]) -> list[dict[str, Any]]:
    """The custom dict and every dict nested in it (where a task keeps its options is its own affair)."""
    found = [custom]
    for value in custom.values():
        if isinstance(value, dict):
            found += walk(value)
    return found


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"config": {"completion_window": "48h"}}, "completion_window '48h' is not supported"),
        ({"max_in_flight": 0}, "max_in_flight must be at least 1, got 0."),
        ({"max_requests": 0}, "max_requests and max_bytes must be at least 1, got 0 and "),
    ],
)
def test_a_bad_argument_is_said_as_create_batchs(kwargs: dict[str, Any], said: str) -> None:
    with pytest.raises(BatchConfigError, match=r"^create_batch\(name='bad'\): ") as raised:
        create_batch(name="bad", secret=SECRET, **kwargs)
    assert str(raised.value).startswith(f"create_batch(name='bad'): {said}"), raised.value
    assert "Task" not in str(raised.value), raised.value
