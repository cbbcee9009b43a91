"""What propeller sends the connector, built the way propeller builds it: a serialized task template,
the input literals and the task execution's identity."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from flyteidl.admin import agent_pb2
from flyteidl.core import identifier_pb2, literals_pb2, tasks_pb2
from flytekit import FlyteContextManager
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.core.base_task import PythonTask
from flytekit.core.type_engine import TypeEngine
from flytekit.models.literals import LiteralMap
from flytekit.models.task import TaskExecutionMetadata, TaskTemplate
from flytekit.tools.translator import get_serializable


def template_pb(task: PythonTask) -> tasks_pb2.TaskTemplate:
    settings = SerializationSettings(ImageConfig.auto_default_image(), project="p", domain="d", version="v1")
    return get_serializable(OrderedDict(), settings, task).template.to_flyte_idl()


def template(task: PythonTask) -> TaskTemplate:
    return TaskTemplate.from_flyte_idl(template_pb(task))


def inputs_pb(input_file_id: str) -> literals_pb2.LiteralMap:
    string = literals_pb2.Literal(
        scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value=input_file_id))
    )
    return literals_pb2.LiteralMap(literals={"input_file_id": string})


def job_inputs_pb(input_file_ids: list[str]) -> literals_pb2.LiteralMap:
    """The inputs of a job task: `input_file_ids`, a list of strings."""
    items = [
        literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value=i)))
        for i in input_file_ids
    ]
    collection = literals_pb2.Literal(collection=literals_pb2.LiteralCollection(literals=items))
    return literals_pb2.LiteralMap(literals={"input_file_ids": collection})


def job_inputs(input_file_ids: list[str]) -> LiteralMap:
    return LiteralMap.from_flyte_idl(job_inputs_pb(input_file_ids))


def inputs(input_file_id: str) -> LiteralMap:
    return LiteralMap.from_flyte_idl(inputs_pb(input_file_id))


def execution_metadata_pb(
    execution: str, node_id: str = "n0", retry: int = 0
) -> agent_pb2.TaskExecutionMetadata:
    task_id = identifier_pb2.Identifier(
        resource_type=identifier_pb2.TASK, project="p", domain="d", name="batch", version="v1"
    )
    node = identifier_pb2.NodeExecutionIdentifier(
        node_id=node_id,
        execution_id=identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="d", name=execution),
    )
    return agent_pb2.TaskExecutionMetadata(
        task_execution_id=identifier_pb2.TaskExecutionIdentifier(
            task_id=task_id, node_execution_id=node, retry_attempt=retry
        ),
        namespace="p-d",
    )


def execution_metadata(execution: str, node_id: str = "n0", retry: int = 0) -> TaskExecutionMetadata:
    return TaskExecutionMetadata.from_flyte_idl(execution_metadata_pb(execution, node_id, retry))


def batch_result(outputs: LiteralMap | None) -> dict[str, Any]:
    """The `result` output of a batch task (the batch as a dict) from its literals."""
    assert isinstance(outputs, LiteralMap), outputs
    ctx = FlyteContextManager.current_context()
    result: dict[str, Any] = TypeEngine.literal_map_to_kwargs(ctx, outputs, {"result": dict})["result"]
    return result
