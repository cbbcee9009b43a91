"""What propeller sends the ChatGPT connector, built the way propeller builds it: the serialized task
template and the input literals."""

from __future__ import annotations

from collections import OrderedDict

from flyteidl.core import literals_pb2, tasks_pb2
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.models.literals import LiteralMap
from flytekit.models.task import TaskTemplate
from flytekit.tools.translator import get_serializable

from flytekitplugins.openai.chatgpt.task import ChatGPTTask


def template_pb(task: ChatGPTTask) -> tasks_pb2.TaskTemplate:
    settings = SerializationSettings(ImageConfig.auto_default_image(), project="p", domain="d", version="v1")
    return get_serializable(OrderedDict(), settings, task).template.to_flyte_idl()


def template(task: ChatGPTTask) -> TaskTemplate:
    """The template as the connector receives it: through protobuf, so custom's numbers are floats."""
    return TaskTemplate.from_flyte_idl(template_pb(task))


def message_pb(message: str) -> literals_pb2.LiteralMap:
    string = literals_pb2.Literal(
        scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value=message))
    )
    return literals_pb2.LiteralMap(literals={"message": string})


def message(text: str) -> LiteralMap:
    return LiteralMap.from_flyte_idl(message_pb(text))
