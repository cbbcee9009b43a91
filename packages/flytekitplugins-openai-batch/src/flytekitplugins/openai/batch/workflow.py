"""`create_batch`: the whole upload -> batches -> collect chain as one Flyte workflow, for any size.

Three nodes, as upstream's: the upload, the job task (its batches) and the download, a collect step
(`files.rounds.JobRoundTask`, a dynamic task) that adds a round (a job task and another collect step)
only when a round has requests to send again.

It lives here, in `flytekitplugins.openai.batch.workflow`, where upstream's plugin had it; the meta
package `flytekitplugins-openai` exports the same function as `flytekitplugins.openai.create_batch`.
"""

from __future__ import annotations

# flytekit's JSONL transformer matches typing.Iterator[JSON], not collections.abc.Iterator[JSON].
import functools
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Iterator  # noqa: UP035

from flytekit import Resources, Workflow
from flytekit.core.context_manager import FlyteContext
from flytekit.models.security import Secret
from flytekit.types.file import FlyteFile, JSONLFile
from flytekit.types.iterator import JSON

from flytekitplugins.openai.files import BatchResult, OpenAIFileConfig
from flytekitplugins.openai.files.outputs.result import RoundState
from flytekitplugins.openai.files.rounds import JobRoundTask
from flytekitplugins.openai.files.settings import CollectSettings, RoundSettings
from flytekitplugins.openai.files.upload import UploadPartsTask
from openai_batch_jobs import interrupts
from openai_batch_jobs.api.batch_config import BatchConfig
from openai_batch_jobs.errors import BatchConfigError, OpenAIBatchError
from openai_batch_jobs.inputs.split import PartLimits
from openai_batch_jobs.inputs.validation import DEFAULT_MAX_BYTES, DEFAULT_MAX_REQUESTS
from openai_batch_jobs.job.budget import TokenBudget
from openai_batch_jobs.job.settings import DEFAULT_MAX_IN_FLIGHT
from openai_batch_jobs.report.cost import check_max_cost
from openai_batch_jobs.report.prices import parse_prices
from openai_batch_jobs.results.job_collection import ServerCleanup
from openai_batch_jobs.results.resend import DEFAULT_MAX_REQUEST_ATTEMPTS
from openai_batch_jobs.results.rounds import RoundRules

from .job.task import BatchJobTask


class BatchWorkflow(Workflow):
    """`create_batch`'s workflow: a local run of it (`pyflyte run`) ends on SIGINT, SIGTERM and SIGHUP
    after each step's cleanup, with one message for the whole run (`openai_batch_jobs.interrupts`),
    and a request file that is missing or a directory is one line, before flytekit's copy of it."""

    def local_execute(self, ctx: FlyteContext, **kwargs: Any) -> Any:
        _check_local_file(kwargs.get("jsonl_in"))
        with interrupts.ending_on_signals(self.name):
            return super().local_execute(ctx, **kwargs)


def _check_local_file(value: Any) -> None:
    # Called with Python values or, from another workflow, promises: only a file is looked at.
    path = (
        value.path
        if isinstance(value, FlyteFile)
        else value
        if isinstance(value, str | os.PathLike)
        else None
    )
    if path is None or "://" in str(path):
        return
    if Path(path).is_dir():
        raise OpenAIBatchError(
            f"jsonl_in {path} is a directory, not a JSONL request file; nothing was uploaded."
        )
    if not Path(path).exists():
        raise OpenAIBatchError(f"jsonl_in {path}: no such file; nothing was uploaded.")


def _names_itself_in_errors(build: Callable[..., Workflow]) -> Callable[..., Workflow]:
    """A setting refused while the workflow is declared is said as `create_batch`'s argument, not
    as the setting of an inner task the user never named."""

    @functools.wraps(build)
    def create_batch(name: str, *args: Any, **kwargs: Any) -> Workflow:
        try:
            return build(name, *args, **kwargs)
        except (OpenAIBatchError, ValueError) as exc:
            text = re.sub(r" ?(in the config )?of (BatchEndpointTask|BatchJobTask) '[^']*'", "", str(exc))
            raise BatchConfigError(f"create_batch(name={name!r}): {text}") from None

    return create_batch


@_names_itself_in_errors
def create_batch(
    name: str,
    secret: Secret,
    openai_organization: str | None = None,
    config: dict[str, Any] | None = None,
    is_json_iterator: bool = True,
    file_upload_mem: str = "700Mi",
    file_download_mem: str = "700Mi",
    container_image: str | None = None,
    base_url: str | None = None,
    accept_partial_results: bool = False,
    max_requests: int = DEFAULT_MAX_REQUESTS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    fail_on_missing_requests: bool = False,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    delete_input_files: bool = True,
    delete_result_files: bool = False,
    max_request_attempts: int = DEFAULT_MAX_REQUEST_ATTEMPTS,
    results_table: bool = True,
    prices: Mapping[str, Sequence[float]] | None = None,
    max_cost_usd: float | None = None,
    max_enqueued_tokens: int | Mapping[str, int] | None = None,
) -> Workflow:
    """Build a workflow that uploads requests, runs them as OpenAI batches and collects the results.

    The workflow takes `jsonl_in` (an `Iterator[JSON]`, or a `JSONLFile` when `is_json_iterator` is
    False) and returns `batch_output: BatchResult`: one output file and one error file for the whole
    job, in which every request appears once (its last answer, or its last error with the number of
    attempts), and the results table (`BatchResult.table`, Parquet, one row per request in input
    order). An input within one batch's limits runs as one batch; a bigger one is cut into parts of
    at most `max_requests` requests and `max_bytes` bytes (and 50,000 embedding inputs), validated
    and cut in one streaming pass, and its batches run `max_in_flight` at a time.

    The workflow has upstream's three nodes: upload, batch (the job task) and download (the collect
    step). Requests that fail for a transient reason (a per-request 408, 429 or 5xx, an expired
    batch's or a cancelled one's unanswered requests) are sent again in a follow-up round, up to
    `max_request_attempts` tries in all: the collect step, a dynamic task, uploads them and adds the
    round (a job task and another collect step) to the execution; a job with nothing to send again
    runs the three nodes alone. The collect step that ends the job publishes a Flyte Deck (totals,
    failures by code, tokens, estimated cost, batch timelines) and logs the same summary as one JSON
    line. Task and workflow names match the public `flytekitplugins-openai` plugin (later rounds'
    tasks end in ``-round<N>``).

    :param name: Suffix of the workflow's and its tasks' names.
    :param secret: The Flyte secret holding the OpenAI API key, read by the upload and collect tasks.
        The batch task's connector reads its own secret, `FLYTE_OPENAI_API_KEY` (a local run checks it
        too before it uploads anything).
    :param openai_organization: OpenAI organization id, if the key belongs to several.
    :param config: Extra `batches.create` arguments, e.g. `endpoint`, `completion_window`, `metadata`.
        Every request's `url` must be the `endpoint` (checked before the upload).
    :param is_json_iterator: True for an iterator/generator of request dicts, False for a JSONL file.
    :param file_upload_mem: Memory request and limit of the upload task's pod.
    :param file_download_mem: Memory request and limit of the collect task's pod.
    :param container_image: Image of the upload and collect tasks; defaults to the published
        files image for this Python and plugin version.
    :param base_url: An OpenAI-compatible API (Azure OpenAI, a proxy, the emulator); when unset the
        `OPENAI_BASE_URL` environment variable of each pod / the connector, else OpenAI.
    :param accept_partial_results: Let an expired or cancelled batch succeed with the results it has.
    :param max_requests: Most requests per batch (the Batch API's 50,000 by default); more make more
        batches. (Upstream's meaning, the most one upload accepts, is the same for a one-batch input.)
    :param max_bytes: Largest input file per batch (the Batch API's 200 MiB by default), as above.
    :param fail_on_missing_requests: Fail the collect step, rather than warn, when an input request is
        in neither result file.
    :param max_in_flight: Most of the job's batches on the server at once.
    :param delete_input_files: Delete the job's input files from the server once the results are
        downloaded (nothing needs them then).
    :param delete_result_files: Delete the server's output and error files once they are downloaded.
    :param max_request_attempts: How often a request that fails transiently is sent in all (1 turns
        request retries off). Permanent failures (other 4xx, bad input) are never sent again.
    :param results_table: Write the results table (Parquet) and the deck.
    :param prices: Batch prices laid over the built-in table, ``{model: [input, output]}`` in US
        dollars per million tokens, for the deck's and the summary's cost estimate and the upload
        step's estimate.
    :param max_cost_usd: Refuse the job, before anything is uploaded, when the high figure of the
        upload step's cost estimate is above this many US dollars (or its model has no known price
        and `prices` does not name it). The upload step prints the estimate either way.
    :param max_enqueued_tokens: A budget of enqueued prompt tokens for the job's running batches: one
        figure for every model, or ``{model: tokens}`` (``"*"``: every model not named); a part starts
        only while its model's running batches stay within it (see `BatchJobTask`).
    """
    suffix = name.replace(".", "")
    where = f"create_batch({name!r})"
    endpoint = BatchConfig.parse(dict(config or {}), task_name=f"openai-batch-{suffix}").endpoint
    cap = check_max_cost(max_cost_usd, where)
    parsed_prices = parse_prices(prices)
    budget = TokenBudget.parse(max_enqueued_tokens, where, parsed_prices)
    file_config = OpenAIFileConfig(secret=secret, openai_organization=openai_organization, base_url=base_url)
    limits = _part_limits(max_requests, max_bytes)
    rules = RoundRules(1, max_request_attempts, results_table, parsed_prices, limits, endpoint)
    upload = UploadPartsTask(
        name=f"openai-file-upload-{suffix}",
        task_config=file_config,
        container_image=container_image,
        limits=limits,
        endpoint=endpoint,
        check_connector_key=True,
        max_cost_usd=cap,
        prices=prices,
        request_keys=rules.sorts_results,  # what a round that sorts its results reads of the requests
    )
    job = BatchJobTask(
        name=f"openai-batch-{suffix}",
        config=dict(config or {}),
        openai_organization=openai_organization,
        base_url=base_url,
        accept_partial_results=accept_partial_results,
        max_in_flight=max_in_flight,
        delete_input_files=delete_input_files,
        resend_unanswered=max_request_attempts > 1,
        max_enqueued_tokens=budget,
    )
    cleanup = ServerCleanup(delete_input_files, delete_result_files, fail_on_missing_requests)
    collect = CollectSettings(file_config, cleanup)
    download = _collect_step(
        f"openai-download-files-{suffix}", collect, rules, job, file_download_mem, container_image
    )
    return _wire(f"openai-batch-{suffix}", is_json_iterator, (upload, job, download), file_upload_mem)


def _part_limits(max_requests: int, max_bytes: int) -> PartLimits:
    if max_requests < 1 or max_bytes < 1:
        raise BatchConfigError(
            f"max_requests and max_bytes must be at least 1, got {max_requests} and {max_bytes}."
        )
    return PartLimits(requests=max_requests, bytes=max_bytes)


def _collect_step(
    name: str,
    collect: CollectSettings,
    rules: RoundRules,
    job: BatchJobTask,
    memory: str,
    container_image: str | None,
) -> JobRoundTask:
    """Round 1 of the collect step, which declares the job task again for any round after it."""
    settings = RoundSettings(
        collect=collect, rules=rules, job=job.task_settings, job_name=job.name, step_name=name, memory=memory
    )
    return JobRoundTask(name=name, settings=settings, container_image=container_image, job_task=BatchJobTask)


def _wire(
    name: str,
    is_json_iterator: bool,
    tasks: tuple[UploadPartsTask, BatchJobTask, JobRoundTask],
    upload_memory: str,
) -> Workflow:
    """The workflow's three nodes, upload -> job -> collect, between its input and its output."""
    upload, job, download = tasks
    wf = BatchWorkflow(name=name)
    wf.add_workflow_input("jsonl_in", Iterator[JSON] if is_json_iterator else JSONLFile)
    uploaded = wf.add_entity(upload, jsonl_in=wf.inputs["jsonl_in"])
    uploaded.with_overrides(requests=Resources(mem=upload_memory), limits=Resources(mem=upload_memory))
    ran = wf.add_entity(job, input_file_ids=uploaded.outputs["parts"])
    # The parts' keys files, when the upload writes them (a round that sorts its results reads them).
    keys = {"part_keys": uploaded.outputs["keys"]} if "keys" in upload.python_interface.outputs else {}
    collected = wf.add_entity(download, job_result=ran.outputs["result"], state=RoundState(), **keys)
    wf.add_workflow_output("batch_output", collected.outputs["result"], BatchResult)
    return wf
