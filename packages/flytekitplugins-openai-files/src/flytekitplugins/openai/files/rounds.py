"""A job's collect step as a Flyte dynamic task, which adds a round of the job only when one is needed.

`create_batch`'s download node is a `JobRoundTask` of round 1. Its body (in the pod; in a local run,
in-process) collects the job's results: it joins the parts' files (`collect.collect_files`) or, when
requests are sent again or a table is asked for, runs the round (`openai_batch_jobs.results.rounds`).
When the round uploaded requests to send again, the body returns a sub-workflow of round N+1, the job
task on those parts and the `JobRoundTask` of round N+1, which FlytePropeller runs (`futures.pb`);
else it ends the job (table, summary, deck) and returns the result (`outputs.pb`).

What a round hands to the next is a `RoundState`. The task is built by a factory, not found in a
module, so its pod loads it with `round_task_resolver` from its template alone, where `RoundSettings`
keep everything it needs, the next round's job task included (`job_task.JobTaskDeclaration`: the
files image declares that task, the connector's image runs it).
"""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path
from typing import Any, List, NamedTuple, Optional  # noqa: UP035  (flytekit's interface on Python 3.10)

import flytekit
from flyteidl.core import tasks_pb2
from flytekit import Resources
from flytekit.configuration import SerializationSettings
from flytekit.core.base_task import TaskResolverMixin
from flytekit.core.context_manager import FlyteContextManager
from flytekit.core.python_function_task import PythonFunctionTask
from flytekit.core.tracker import TrackedInstance
from flytekit.core.utils import load_proto_from_file
from flytekit.models.task import TaskTemplate
from flytekit.types.file import JSONLFile

from openai_batch_jobs import interrupts
from openai_batch_jobs.files.download import download_file
from openai_batch_jobs.report.deck import render_deck
from openai_batch_jobs.results.job_result import JobResult, batches_of
from openai_batch_jobs.results.rounds import RoundOutcome, run_round

from ._task import DEFAULT_MEMORY
from .collect import collect_files
from .config import OpenAIFileConfig
from .images import OpenAIFileDefaultImages
from .job_task import JobTaskDeclaration
from .outputs.report import publish_deck, table_dataset
from .outputs.result import BatchResult, RoundState
from .settings import COLLECT_TASK_TYPE, RoundSettings

DECK_FILE = "deck.html"


class RoundOutputs(NamedTuple):
    """The step's one output, named ``result`` as the download task's is."""

    result: BatchResult


class JobRoundTask(PythonFunctionTask[OpenAIFileConfig]):
    """Round ``settings.rules.attempt`` of a job's collect step (see the module's docstring).

    Inputs: ``job_result`` (the job task's `JobResult`), ``state`` (what the round before handed on;
    an empty `RoundState` in round 1) and, in round 1, ``part_keys``: the upload step's ``keys``, each
    part's keys file, read instead of downloading the parts' input files (None or empty: they are
    downloaded). Output: ``result``, the job's `BatchResult` once it is done.
    ``job_task`` is the class of the job task the step adds for the next round: the declaration in a
    pod, the runnable `BatchJobTask` where the workflow runs in-process.
    """

    def __init__(
        self,
        name: str,
        settings: RoundSettings,
        container_image: str | None = None,
        job_task: type[JobTaskDeclaration] = JobTaskDeclaration,
        **kwargs: Any,
    ) -> None:
        self._round_settings = settings
        self._job_task = job_task

        def collect_round(
            job_result: JobResult,
            state: RoundState,
            part_keys: Optional[List[JSONLFile]] = None,  # noqa: UP006, UP045
        ) -> RoundOutputs:
            return self._run_round(job_result, state, part_keys or [])

        memory = settings.memory
        kwargs.setdefault("requests", Resources(mem=memory or DEFAULT_MEMORY))
        if memory:
            kwargs.setdefault("limits", Resources(mem=memory))
        super().__init__(
            task_config=settings.file_config,
            task_function=collect_round,
            task_type=COLLECT_TASK_TYPE,
            execution_mode=PythonFunctionTask.ExecutionBehavior.DYNAMIC,
            task_resolver=round_task_resolver,
            container_image=container_image or OpenAIFileDefaultImages.find_image_for(),
            secret_requests=[settings.file_config.secret],
            # The final round's deck, and no other: its inputs and outputs are files, not news.
            enable_deck=settings.rules.results_table,
            deck_fields=(),
            **kwargs,
        )
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def round_settings(self) -> RoundSettings:
        return self._round_settings

    def get_custom(self, settings: SerializationSettings) -> dict[str, Any]:
        return self._round_settings.to_custom()

    def execute(self, **kwargs: Any) -> Any:
        # A pod compiles the body as a workflow, whose inputs given no value are promises: inputs
        # without part_keys (a step serialized before it was added) mean no keys.
        kwargs.setdefault("part_keys", None)
        return super().execute(**kwargs)

    def _run_round(self, job_result: JobResult, state: RoundState, part_keys: list[JSONLFile]) -> Any:
        settings = self._round_settings
        interrupts.set_phase(f"the collect step of round {settings.rules.attempt} ({self.name})")
        workdir = Path(flytekit.current_context().working_directory)
        batches = batches_of(job_result)
        if not settings.rules.sorts_results:
            return RoundOutputs(collect_files(settings.collect, batches, workdir))
        client, api_key = settings.file_config.client()
        with client:  # releases its connection pool however the round ends
            outcome = run_round(
                client,
                batches,
                workdir / f"round{settings.rules.attempt}",
                settings.rules,
                download=partial(download_file, client, api_key=api_key),
                previous=state.files(),
                cleanup=settings.collect.cleanup,
                api_key=api_key,
                resumable=_is_local(),
                part_keys=[keys.download() for keys in part_keys] if part_keys else None,
            )
        if not outcome.resend_parts:
            return RoundOutputs(_job_result(outcome, workdir))
        return self._next_round(outcome)

    def _next_round(self, outcome: RoundOutcome) -> Any:
        """Round N+1: the job task on the resend parts, then its collect step (nodes of a sub-workflow
        in a pod, run at once in-process)."""
        settings = self._round_settings.next_round()
        job = self._job_task.declared(settings.round_name(settings.job_name), settings.job)
        ctx = FlyteContextManager.current_context()
        # A task built while a dynamic task compiles gets the compilation's resolver (flytekit's
        # default one, which cannot load this task): the step is built outside the compilation.
        with FlyteContextManager.with_context(ctx.with_compilation_state(None)):
            step = JobRoundTask(
                settings.round_name(settings.step_name),
                settings,
                container_image=str(self.container_image),
                job_task=self._job_task,
            )
        ran = job(input_file_ids=outcome.resend_parts)
        return step(job_result=ran, state=RoundState.carrying(outcome.files))


def _job_result(outcome: RoundOutcome, workdir: Path) -> BatchResult:
    """The job's files, with the table and the deck when the round wrote them."""
    files = outcome.files
    result = BatchResult(
        output_file=JSONLFile(files.output) if files.output else None,
        error_file=JSONLFile(files.errors) if files.errors else None,
    )
    if outcome.results is None:
        return result
    publish_deck(outcome.results.summary)
    if _is_local():
        # A local run writes no deck for a dynamic task: the page is written here, and said where.
        page = Path(files.output or files.errors or workdir / "job").parent / DECK_FILE
        page.write_text(render_deck(outcome.results.summary), encoding="utf-8")
        print(f"The job's results deck: file://{page}", file=sys.stderr, flush=True)
    result.table = table_dataset(outcome.results.table)
    return result


def _is_local() -> bool:
    """Whether this step runs in a local run. flytekit 1.16 says so of a dynamic task's body; 1.15 runs it
    in DYNAMIC_TASK_EXECUTION mode there as in a pod, and only the execution's id (flytekit's local
    default, project and name "local") tells the two apart."""
    context = FlyteContextManager.current_context()
    if context.execution_state is not None and context.execution_state.is_local_execution():
        return True
    execution = getattr(context.user_space_params, "execution_id", None)
    return getattr(execution, "project", None) == "local" and getattr(execution, "name", None) == "local"


class RoundTaskResolver(TrackedInstance, TaskResolverMixin):
    """Loads a `JobRoundTask` in its pod from its template (``{{.taskTemplatePath}}``), as flytekit's
    task template resolver loads a container task: the settings are all in the template."""

    def name(self) -> str:
        return "openai job round resolver"

    def load_task(self, loader_args: list[str]) -> JobRoundTask:
        ctx = FlyteContextManager.current_context()
        assert ctx.execution_state is not None
        assert ctx.execution_state.working_dir is not None
        local = os.path.join(ctx.execution_state.working_dir, "task_template.pb")
        ctx.file_access.get_data(loader_args[0], local)
        template = TaskTemplate.from_flyte_idl(load_proto_from_file(tasks_pb2.TaskTemplate, local))
        settings = RoundSettings.from_custom(template.custom, template.id.name)
        image = template.container.image if template.container else None
        return JobRoundTask(template.id.name, settings, container_image=image)

    def loader_args(self, settings: SerializationSettings, t: Any) -> list[str]:
        return ["{{.taskTemplatePath}}"]

    def get_all_tasks(self) -> list[Any]:
        return []


round_task_resolver = RoundTaskResolver()
