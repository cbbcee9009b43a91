"""A job's collect step (`JobRoundTask`) as the pod tests build it, and what its sub-workflow says:
the settings of a two-round job, its inputs as literals, the next round FlytePropeller would run."""

from __future__ import annotations

from typing import Any

from flytekit import Secret
from flytekit.models import dynamic_job, literals

from flytekitplugins.openai.files import JobRoundTask, OpenAIFileConfig, RoundState
from flytekitplugins.openai.files.settings import CollectSettings, RoundSettings
from openai_batch_jobs.job.settings import JobTaskSettings
from openai_batch_jobs.results.job_collection import ServerCleanup
from openai_batch_jobs.results.job_result import JobResult
from openai_batch_jobs.results.rounds import RoundRules
from tests.files.pod import python_literal, serialize

CONFIG = OpenAIFileConfig(Secret(group="tests", key="openai_key"))
JOB = JobTaskSettings(config={"endpoint": "/v1/chat/completions"})


def collect_step(
    attempt: int = 1, delete_input_files: bool = True, config: OpenAIFileConfig = CONFIG
) -> JobRoundTask:
    settings = RoundSettings(
        collect=CollectSettings(config, ServerCleanup(delete_input_files=delete_input_files)),
        rules=RoundRules(attempt, max_request_attempts=2, results_table=True),
        job=JOB,
        job_name="openai-batch-job",
        step_name="openai-download-files-job",
    )
    return JobRoundTask(settings.round_name(settings.step_name), settings)


def round_inputs(task: JobRoundTask, batches: list[dict[str, Any]]) -> dict[str, literals.Literal]:
    template = serialize(task)
    job_result = JobResult(batches=batches, parts=len(batches), parts_done=len(batches))
    return {
        "job_result": python_literal(template, "job_result", job_result, JobResult),
        "state": python_literal(template, "state", RoundState(), RoundState),
    }


def next_round(futures: dynamic_job.DynamicJobSpec) -> tuple[list[str], Any, literals.Literal]:
    """What FlytePropeller runs next: the job node's parts, the next collect step's template and the
    state the step hands on (a literal in the sub-workflow)."""
    job_node, step_node = futures.nodes
    templates = {t.id.name: t for t in futures.tasks}
    job = templates[job_node.task_node.reference_id.name]
    step = templates[step_node.task_node.reference_id.name]
    assert (job.id.name, job.type, job.custom) == (
        "openai-batch-job-round2",
        "openai-batch-job",
        JOB.to_custom(),
    )
    assert (step.id.name, step.type) == ("openai-download-files-job-round2", "openai-batch-collect")
    parts = {b.var: b.binding for b in job_node.inputs}["input_file_ids"]
    part_ids = [item.scalar.primitive.string_value for item in parts.collection.bindings]
    bindings = {b.var: b.binding for b in step_node.inputs}
    assert bindings["job_result"].promise.node_id == job_node.id  # round 2's job task's result
    [output] = futures.outputs
    assert output.binding.promise.node_id == step_node.id  # the job's result is round 2's
    return part_ids, step, literals.Literal(scalar=bindings["state"].scalar)
