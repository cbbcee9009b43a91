"""The job's types as Flyte literals: what its tasks hand each other, and `BatchResult`'s literal type.

flytekit's dataclass transformer builds a JSON schema of a dataclass each time an interface names it
(mashumaro compiles a class for every field default, tens of milliseconds a type), and compiles an
encoder and a decoder at each task boundary; `create_batch`'s workflow names these types a dozen
times (each task's interface, again for each node, the workflow's output). So:

- `JobResult` (the job task's result) and `RoundState` (what a round hands to the next) pass only
  between this plugin's tasks: they travel as ``dict`` literals, which is also what the job
  connector writes for a `JobResult` (its fields), whatever flytekit it runs. A `RoundState`'s files
  go through flytekit's file transformer (uploaded from a pod) and travel as their URIs.
- `BatchResult`, which users read, keeps flytekit's dataclass literal type, its schema built only
  when read (serialization for a cluster; a local run never reads it), once a process.

Importing this module registers the three transformers (`flytekitplugins.openai.files.outputs` does).
"""

from __future__ import annotations

import functools
import json
import typing
from abc import abstractmethod
from dataclasses import asdict, fields
from typing import Any, TypeVar

from flytekit.core.constants import CACHE_KEY_METADATA, MESSAGEPACK, SERIALIZATION_FORMAT
from flytekit.core.context_manager import FlyteContext
from flytekit.core.type_engine import AsyncTypeTransformer, DataclassTransformer, TypeEngine
from flytekit.models.annotation import TypeAnnotation
from flytekit.models.literals import Blob, BlobMetadata, Literal, Scalar
from flytekit.models.types import LiteralType, SimpleType, TypeStructure
from flytekit.types.file import JSONLFile

from openai_batch_jobs.results.job_result import JobResult, RoundRecord

from .result import BatchResult, RoundState

T = TypeVar("T")
_FILE_FIELDS = ("output", "errors", "requests")


class _DictCarried(AsyncTypeTransformer[T]):
    """A type carried as flytekit's ``dict`` literal (msgpack), its literal type ``dict``'s."""

    def get_literal_type(self, t: type[T]) -> LiteralType:
        return TypeEngine.to_literal_type(dict)

    async def async_to_literal(
        self, ctx: FlyteContext, python_val: T, python_type: type[T], expected: LiteralType
    ) -> Literal:
        return await TypeEngine.async_to_literal(ctx, await self.to_dict(ctx, python_val), dict, expected)

    async def async_to_python_value(self, ctx: FlyteContext, lv: Literal, expected_python_type: type[T]) -> T:
        return await self.from_dict(ctx, await TypeEngine.async_to_python_value(ctx, lv, dict))

    @abstractmethod
    async def to_dict(self, ctx: FlyteContext, value: T) -> dict[str, Any]: ...

    @abstractmethod
    async def from_dict(self, ctx: FlyteContext, data: dict[str, Any]) -> T: ...


class JobResultTransformer(_DictCarried[JobResult]):
    def __init__(self) -> None:
        super().__init__("OpenAI batch job result", JobResult)

    async def to_dict(self, ctx: FlyteContext, value: JobResult) -> dict[str, Any]:
        return asdict(value)

    async def from_dict(self, ctx: FlyteContext, data: dict[str, Any]) -> JobResult:
        return JobResult(**data)


class RoundStateTransformer(_DictCarried[RoundState]):
    def __init__(self) -> None:
        super().__init__("OpenAI batch job round state", RoundState)

    async def to_dict(self, ctx: FlyteContext, value: RoundState) -> dict[str, Any]:
        data: dict[str, Any] = {name: await _uri(ctx, getattr(value, name)) for name in _FILE_FIELDS}
        return {**data, "rounds": [asdict(r) for r in value.rounds]}

    async def from_dict(self, ctx: FlyteContext, data: dict[str, Any]) -> RoundState:
        files = {name: await _file(ctx, data.get(name)) for name in _FILE_FIELDS}
        return RoundState(**files, rounds=[RoundRecord(**r) for r in data.get("rounds") or []])


async def _uri(ctx: FlyteContext, file: JSONLFile | None) -> str | None:
    """Where ``file`` is as flytekit passes a file output (uploaded from a pod)."""
    if file is None:
        return None
    literal = await TypeEngine.async_to_literal(ctx, file, JSONLFile, _jsonl())
    return str(literal.scalar.blob.uri)


async def _file(ctx: FlyteContext, uri: str | None) -> JSONLFile | None:
    """The file at ``uri`` as flytekit hands a task a file input (downloaded when it is read)."""
    if uri is None:
        return None
    blob = Blob(metadata=BlobMetadata(type=_jsonl().blob), uri=uri)
    return await TypeEngine.async_to_python_value(ctx, Literal(scalar=Scalar(blob=blob)), JSONLFile)


def _jsonl() -> LiteralType:
    return TypeEngine.to_literal_type(JSONLFile)


class BatchResultTransformer(DataclassTransformer):
    """flytekit's dataclass transformer, whose literal type of `BatchResult` has its JSON schema
    (``metadata``) built when read: on serialization for a cluster, never in a local run.

    The schema is mashumaro's, built as flytekit's transformer builds it, once a process (importing
    `mashumaro.jsonschema` and building it cost more than building the rest of `create_batch`'s
    workflow); the rest of the type is the transformer's too (the fields' literal types, for
    attribute access in FlytePropeller). Each call makes a new type: flytekit changes some it is
    given (the tags of a Union's variants).
    """

    def get_literal_type(self, t: Any) -> LiteralType:
        return _SchemaOnRead(t) if t is BatchResult else super().get_literal_type(t)

    def guess_python_type(self, literal_type: LiteralType) -> Any:
        # A literal type read back (FlyteRemote) is flytekit's own transformer's to guess, as for any dataclass.
        raise ValueError("BatchResult's transformer guesses no types")


class _SchemaOnRead(LiteralType):
    """A dataclass's literal type as flytekit's `DataclassTransformer` makes it, the schema built when read."""

    def __init__(self, t: type) -> None:
        hints = typing.get_type_hints(t)
        super().__init__(
            simple=SimpleType.STRUCT,
            structure=TypeStructure(
                tag="", dataclass_type={f.name: TypeEngine.to_literal_type(hints[f.name]) for f in fields(t)}
            ),
            annotation=TypeAnnotation({CACHE_KEY_METADATA: {SERIALIZATION_FORMAT: MESSAGEPACK}}),
        )
        self._dataclass: type | None = t

    @property
    def metadata(self) -> dict[str, Any] | None:
        if self._dataclass is not None:
            self.metadata = json.loads(_json_schema(self._dataclass))
        return self._metadata

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        self._metadata, self._dataclass = value, None


@functools.cache
def _json_schema(t: type) -> str:
    """The dataclass's JSON schema as JSON text: each literal type gets a copy of its own."""
    from mashumaro.jsonschema import build_json_schema

    return json.dumps(build_json_schema(t).to_dict())


TypeEngine.register(JobResultTransformer())
TypeEngine.register(RoundStateTransformer())
TypeEngine.register_additional_type(BatchResultTransformer(), BatchResult)
