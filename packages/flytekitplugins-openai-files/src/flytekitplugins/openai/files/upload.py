"""The upload tasks: validate the request file, then stream it (or its parts) to OpenAI Files with purpose ``batch``.

The uploading itself is the engine's (`openai_batch_jobs.files.uploads`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, List  # noqa: UP035  (flytekit's interface wants typing.List on Python 3.10)

from flytekit import kwtypes
from flytekit.configuration import SerializationSettings
from flytekit.core.context_manager import FlyteContextManager
from flytekit.core.interface import Interface
from flytekit.core.shim_task import ShimTaskExecutor
from flytekit.core.type_engine import TypeEngine
from flytekit.loggers import logger
from flytekit.models.literals import LiteralMap
from flytekit.models.task import TaskTemplate
from flytekit.types.file import JSONLFile

from flytekitplugins.openai.core.keys import check_connector_key
from openai_batch_jobs import interrupts
from openai_batch_jobs.errors import InvalidRequestFile, OpenAIBatchError
from openai_batch_jobs.files.uploads import upload_request_file
from openai_batch_jobs.inputs.elsewhere import PlanElsewhere
from openai_batch_jobs.inputs.limits import PartLimits
from openai_batch_jobs.inputs.validation import DEFAULT_MAX_BYTES, DEFAULT_MAX_REQUESTS, validate_request_file
from openai_batch_jobs.messages import counted
from openai_batch_jobs.recovery.resume import upload_claim, upload_once
from openai_batch_jobs.report.cost import check_cost, check_max_cost, estimate_cost
from openai_batch_jobs.report.prices import parse_prices

from ._task import OpenAIFileTask
from .config import OpenAIFileConfig
from .settings import UPLOAD_PARTS_TASK_TYPE, UPLOAD_TASK_TYPE, UploadPartsSettings, UploadSettings

JSON_STRINGS_HINT = (
    "Every line is a JSON string, not a request: this is how a JSONL file reaches a workflow built with "
    "create_batch's default is_json_iterator=True (an iterator of request dicts). For a JSONL file, "
    "build it with is_json_iterator=False."
)


class UploadJSONLFileTask(OpenAIFileTask):
    """Uploads a JSONL request file (one batch's input) and returns its file id.

    ``max_requests``/``max_bytes`` suit other servers; ``endpoint``, when given, is the batch's: a line
    with another url is refused before the upload.
    """

    _UPLOAD_JSONL_FILE_TASK_TYPE = UPLOAD_TASK_TYPE

    def __init__(
        self,
        name: str,
        task_config: OpenAIFileConfig,
        container_image: str | None = None,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        endpoint: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._task_settings = UploadSettings(
            task_config, PartLimits(requests=max_requests, bytes=max_bytes), endpoint
        )
        super().__init__(
            name=name,
            task_config=task_config,
            task_type=self._UPLOAD_JSONL_FILE_TASK_TYPE,
            executor_type=UploadJSONLFileExecutor,
            container_image=container_image,
            interface=Interface(inputs=kwtypes(jsonl_in=JSONLFile), outputs=kwtypes(result=str)),
            **kwargs,
        )

    def get_custom(self, settings: SerializationSettings) -> dict[str, Any]:
        return self._task_settings.to_custom()


class UploadJSONLFileExecutor(ShimTaskExecutor[UploadJSONLFileTask]):
    def execute_from_model(self, tt: TaskTemplate, **kwargs: Any) -> str:
        settings = UploadSettings.from_custom(tt.custom, tt.id.name)
        local_path = kwargs["jsonl_in"].download()
        # Validation needs no key and sends nothing: a bad file fails here, whatever the secrets.
        summary = validate_request_file(local_path, settings.limits, settings.endpoint)
        logger.info(
            f"Request file is valid: {summary.requests} requests, {summary.bytes:,} bytes, "
            f"url {summary.url}, model {summary.model}"
        )
        client, api_key = settings.file_config.client()
        with client:  # releases its connection pool however the upload ends
            file_id = upload_request_file(client, local_path, api_key=api_key)
        logger.info(f"Uploaded {summary.requests} requests as file {file_id}")
        return file_id


class UploadPartsTask(OpenAIFileTask):
    """Validates a request file of any size and uploads it as batch-sized parts; returns their file ids.

    One part (the file itself, no copy) when it is within ``limits``; else several, cut at line
    boundaries in the same pass that validates every line (custom_ids unique over the whole file).
    ``endpoint``, when given, is the batch's: a line with another url is refused before any upload.
    ``check_connector_key``: in a local run, also check the connector's key (FLYTE_OPENAI_API_KEY) is
    set and accepted by the server before uploading, so a run that could not create its batches
    leaves nothing behind. The step prints the job's cost estimate (`report.cost`, priced by
    ``prices`` over the built-in table); ``max_cost_usd`` refuses a job whose high figure is above it
    (or whose model has no known price) before anything is uploaded.

    Output: ``parts``, the file ids; with ``request_keys``, also ``keys``: each part's keys file (its
    requests' custom_ids and models, `request_keys.PartKeys`), written in the same pass, in part order,
    for the job's collect step (which then need not download the parts).
    """

    _UPLOAD_PARTS_TASK_TYPE = UPLOAD_PARTS_TASK_TYPE

    def __init__(
        self,
        name: str,
        task_config: OpenAIFileConfig,
        container_image: str | None = None,
        limits: PartLimits | None = None,
        endpoint: str | None = None,
        check_connector_key: bool = False,
        max_cost_usd: float | None = None,
        prices: Mapping[str, Sequence[float]] | None = None,
        request_keys: bool = False,
        **kwargs: Any,
    ) -> None:
        self._task_settings = UploadPartsSettings(
            task_config,
            limits or PartLimits(),
            endpoint,
            check_connector_key,
            check_max_cost(max_cost_usd, f"UploadPartsTask {name!r}"),
            parse_prices(prices),
        )
        outputs = kwtypes(parts=List[str], keys=List[JSONLFile]) if request_keys else kwtypes(parts=List[str])  # noqa: UP006
        super().__init__(
            name=name,
            task_config=task_config,
            task_type=self._UPLOAD_PARTS_TASK_TYPE,
            executor_type=UploadPartsExecutor,
            container_image=container_image,
            interface=Interface(inputs=kwtypes(jsonl_in=JSONLFile), outputs=outputs),
            **kwargs,
        )

    def get_custom(self, settings: SerializationSettings) -> dict[str, Any]:
        return self._task_settings.to_custom()


class UploadPartsExecutor(ShimTaskExecutor[UploadPartsTask]):
    def execute_from_model(self, tt: TaskTemplate, **kwargs: Any) -> LiteralMap:
        """The file ids and keys files as a literal map: the executor converts a plain return value by
        its runtime type, and `list` alone does not say its items are strings."""
        ctx = FlyteContextManager.current_context()
        outputs = tt.interface.outputs
        keys_directory = ctx.file_access.get_random_local_directory() if "keys" in outputs else None
        file_ids, keys = self._upload(tt, keys_directory, **kwargs)
        literals = {"parts": TypeEngine.to_literal(ctx, file_ids, List[str], outputs["parts"].type)}  # noqa: UP006
        if keys_directory is not None:
            files = [JSONLFile(path) for path in keys]
            literals["keys"] = TypeEngine.to_literal(ctx, files, List[JSONLFile], outputs["keys"].type)  # noqa: UP006
        return LiteralMap(literals=literals)

    def _upload(
        self, tt: TaskTemplate, keys_directory: str | None, **kwargs: Any
    ) -> tuple[list[str], list[str]]:
        """The parts' file ids, and their keys files written in ``keys_directory`` when given."""
        settings = UploadPartsSettings.from_custom(tt.custom, tt.id.name)
        interrupts.set_phase(f"the upload ({tt.id.name})")
        local_path = kwargs["jsonl_in"].download()
        local = FlyteContextManager.current_context().execution_state.is_local_execution()
        # A local run checks the connector's key (importing the SDK) while the file is validated in
        # a child process on another core (`PlanElsewhere`); nothing is uploaded before both are done.
        # It also carries on from a killed run of the same input (a cluster has Flyte for that), known
        # by the input's sha256, which the child computes after the plan.
        with PlanElsewhere(
            local_path,
            settings.limits,
            settings.endpoint,
            alongside=settings.check_connector_key and local,
            keys_directory=keys_directory,
            sha256=local,
        ) as planning:
            return self._validated_upload(settings, tt, local_path, planning, local)

    def _validated_upload(
        self,
        settings: UploadPartsSettings,
        tt: TaskTemplate,
        local_path: str,
        planning: PlanElsewhere,
        local: bool,
    ) -> tuple[list[str], list[str]]:
        key_refused: OpenAIBatchError | None = None
        if settings.check_connector_key and local:
            # The batch step of a local run runs here with FLYTE_OPENAI_API_KEY: a key missing or
            # refused fails before anything is uploaded, naming it, after the file's own problems.
            try:
                check_connector_key(settings.file_config.base_url, settings.file_config.openai_organization)
            except OpenAIBatchError as exc:
                key_refused = exc
        # Validation needs no key and sends nothing: a bad file fails first, whatever the secrets.
        try:
            plan = planning.result()
        except InvalidRequestFile as exc:
            if exc.problems and all(
                p.endswith("a request must be a JSON object, got str") for p in exc.problems
            ):
                # A JSONL file given to an Iterator[JSON] input arrives as one JSON string per line.
                first, _, rest = exc.message.partition("\n")
                setattr(exc, "message", f"{first}\n{JSON_STRINGS_HINT}\n{rest}")  # noqa: B010  (click types it Final)
                exc.args = (exc.message,)
            raise
        summary = plan.summary
        print(
            f"Request file is valid: {counted(summary.requests, 'request')}, {summary.bytes:,} bytes, "
            f"url {summary.url}, model {summary.model}; uploading it as {counted(len(plan.parts), 'part')}",
            file=sys.stderr,
            flush=True,
        )
        estimate = estimate_cost(summary.model, summary.tokens, settings.prices)
        print(estimate.line(), file=sys.stderr, flush=True)
        check_cost(estimate, settings.max_cost_usd, f"The upload step {tt.id.name!r}")
        if key_refused is not None:
            raise key_refused
        client, api_key = settings.file_config.client()
        with client:  # releases its connection pool however the upload ends
            limits = {"part_limits": settings.limits.to_custom(), "endpoint": settings.endpoint}
            held = (
                upload_claim(client, "upload", local_path, limits, sha256=planning.sha256())
                if local
                else None
            )
            return upload_once(client, plan, held, api_key=api_key), plan.keys
