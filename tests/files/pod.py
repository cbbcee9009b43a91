"""Runs a task the way a Flyte pod does: the serialized container command, in a subprocess.

The task is serialized with flytekit's own translator; the command is the template's container args
with Flyte's placeholders filled in with local paths. Inputs are written as a LiteralMap proto and
outputs (or the error document) are read back from the output prefix. By default the command runs
with this test environment's console scripts; tests/images runs it in the images instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flyteidl.core import dynamic_job_pb2, errors_pb2, literals_pb2
from flytekit.configuration import Image, ImageConfig, SerializationSettings
from flytekit.core.base_task import PythonTask
from flytekit.core.context_manager import FlyteContextManager
from flytekit.core.type_engine import TypeEngine
from flytekit.models import dynamic_job, literals
from flytekit.models.core.types import BlobType
from flytekit.models.task import TaskTemplate
from flytekit.tools.translator import get_serializable

SETTINGS = SerializationSettings(
    project="tests",
    domain="development",
    version="v1",
    image_config=ImageConfig(default_image=Image(name="default", fqn="localhost/image", tag="t")),
)


Launch = Callable[[list[str], dict[str, str], Path], tuple[list[str], dict[str, str]]]
"""Where a pod's command runs: given the command, the environment Flyte gives the pod and the pod's
folder (inputs and outputs live there), the command line and environment of the process that runs it."""


def on_this_machine(
    command: list[str], env: dict[str, str], workdir: Path
) -> tuple[list[str], dict[str, str]]:
    """The command with this test environment's console scripts, its home in the pod's folder."""
    process_env = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir), **env}
    if "PYTHONPATH" in os.environ:
        process_env.setdefault("PYTHONPATH", os.environ["PYTHONPATH"])
    return [str(Path(sys.executable).parent / command[0]), *command[1:]], process_env


@dataclass
class PodRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: literals.LiteralMap | None
    error: str | None
    template: TaskTemplate
    # The sub-workflow a dynamic task leaves for FlytePropeller to run (futures.pb), if it did.
    futures: dynamic_job.DynamicJobSpec | None = None

    @property
    def log(self) -> str:
        return self.stdout + self.stderr

    def output(self, name: str, python_type: type) -> Any:
        assert self.outputs is not None, f"the task failed: {self.error}\n{self.log[-4000:]}"
        ctx = FlyteContextManager.current_context()
        return TypeEngine.to_python_value(ctx, self.outputs.literals[name], python_type)


def jsonl_literal(path: Path) -> literals.Literal:
    """A JSONLFile input as Flyte passes it: a single blob of format jsonl at a URI."""
    blob_type = BlobType(format="jsonl", dimensionality=BlobType.BlobDimensionality.SINGLE)
    blob = literals.Blob(metadata=literals.BlobMetadata(type=blob_type), uri=str(path))
    return literals.Literal(scalar=literals.Scalar(blob=blob))


def python_literal(template: TaskTemplate, name: str, value: Any, python_type: type) -> literals.Literal:
    ctx = FlyteContextManager.current_context()
    return TypeEngine.to_literal(ctx, value, python_type, template.interface.inputs[name].type)


def serialize(task: PythonTask) -> TaskTemplate:
    return get_serializable(OrderedDict(), SETTINGS, task).template


def run_in_pod(
    task: PythonTask | TaskTemplate,
    inputs: dict[str, literals.Literal],
    workdir: Path,
    env: dict[str, str],
    timeout: float = 180,
    launch: Launch = on_this_machine,
) -> PodRun:
    """Run the task's container command; ``task`` may be a template (one a dynamic task declared)."""
    template = task if isinstance(task, TaskTemplate) else serialize(task)
    workdir.mkdir(parents=True, exist_ok=True)
    template_path = workdir / "task_template.pb"
    template_path.write_bytes(template.to_flyte_idl().SerializeToString())
    inputs_path = workdir / "inputs.pb"
    inputs_path.write_bytes(literals.LiteralMap(literals=inputs).to_flyte_idl().SerializeToString())
    output_prefix = workdir / "outputs"
    placeholders = {
        "{{.input}}": str(inputs_path),
        "{{.outputPrefix}}": str(output_prefix),
        "{{.rawOutputDataPrefix}}": str(workdir / "raw"),
        "{{.checkpointOutputPrefix}}": str(workdir / "checkpoint"),
        "{{.prevCheckpointPrefix}}": "",
        "{{.taskTemplatePath}}": str(template_path),
    }
    args = list(template.container.args)
    for i, arg in enumerate(args):
        for placeholder, value in placeholders.items():
            arg = arg.replace(placeholder, value)
        assert "{{" not in arg, f"unfilled placeholder in {arg!r}"
        args[i] = arg
    assert args[0] == "pyflyte-execute", args

    pod_env = {
        "FLYTE_FAIL_ON_ERROR": "true",
        "FLYTE_SDK_LOGGING_LEVEL": "10",
        "FLYTE_SDK_RICH_TRACEBACKS": "0",
        "COLUMNS": "250",
        **env,
    }
    command, process_env = launch(args, pod_env, workdir)
    proc = subprocess.run(
        command, env=process_env, cwd=workdir, capture_output=True, text=True, timeout=timeout, check=False
    )

    outputs = error = futures = None
    if (output_prefix / "futures.pb").exists():
        spec = dynamic_job_pb2.DynamicJobSpec()
        spec.ParseFromString((output_prefix / "futures.pb").read_bytes())
        futures = dynamic_job.DynamicJobSpec.from_flyte_idl(spec)
    if (output_prefix / "outputs.pb").exists():
        proto = literals_pb2.LiteralMap()
        proto.ParseFromString((output_prefix / "outputs.pb").read_bytes())
        outputs = literals.LiteralMap.from_flyte_idl(proto)
    if (output_prefix / "error.pb").exists():
        doc = errors_pb2.ErrorDocument()
        doc.ParseFromString((output_prefix / "error.pb").read_bytes())
        error = doc.error.message
    return PodRun(proc.returncode, proc.stdout, proc.stderr, outputs, error, template, futures)
