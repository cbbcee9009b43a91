"""The job task's declaration: its type, interface and template, with nothing that runs it.

A job's collect step declares the next round's job task in its pod (`rounds`), where the files image
has neither the connector nor its service; `flytekitplugins.openai.batch.BatchJobTask` is this
declaration with local runs through the connector added. Both write the same template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any, List, TypeVar  # noqa: UP035  (flytekit's interface wants typing.List on Python 3.10)

from flytekit.configuration import SerializationSettings
from flytekit.core.base_task import PythonTask, kwtypes
from flytekit.core.interface import Interface

from openai_batch_jobs.api.batch_config import check_base_url
from openai_batch_jobs.job.budget import TokenBudget
from openai_batch_jobs.job.settings import (
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_TOKEN_LIMIT_ATTEMPTS,
    DEFAULT_TOKEN_LIMIT_WAIT_S,
    JOB_TASK_TYPE,
    JobTaskSettings,
)
from openai_batch_jobs.report.prices import ModelPrice, parse_prices
from openai_batch_jobs.results.job_result import JobResult

Declared = TypeVar("Declared", bound="JobTaskDeclaration")


class JobTaskDeclaration(PythonTask):
    """Run one batch per input file (a job's parts) and wait for all; returns the job's `JobResult`.

    :param config: `batches.create` arguments for every part's batch, as BatchEndpointTask takes them.
    :param openai_organization: OpenAI organization id, if the connector's key belongs to several.
    :param base_url: An OpenAI-compatible API; default: the connector's OPENAI_BASE_URL, else OpenAI.
    :param accept_partial_results: Succeed with the parts that have results when others fail (bad
        input, expired, cancelled); the failed parts are listed in the result's `failed_parts`.
    :param max_in_flight: How many of the job's batches run at once; the rest start as these end.
    :param token_limit_wait_s: How long a part whose batch OpenAI refused for its enqueued token limit
        (`token_limit_exceeded`) waits before it is submitted again.
    :param token_limit_attempts: How many such batches a part may have before the job fails.
    :param delete_input_files: When the job fails for good (not a failure Flyte retries with the same
        files) or is aborted, delete its input files from the server: nothing can use them any more.
        (After a success the collect step of `create_batch` deletes them, by its own setting.)
    :param resend_unanswered: A later round sends an expired or cancelled batch's unanswered requests
        again (`create_batch` sets it when `max_request_attempts` is more than 1): such a part is done
        with the results it has, whatever `accept_partial_results` says.
    :param max_enqueued_tokens: A budget of enqueued prompt tokens: one figure for every model, or
        ``{model: tokens}`` (``"*"``: every model not named). A part starts only while the estimated
        prompt tokens of the job's running batches of its model stay within it (each part's estimate,
        never below the server's count, is in its file's name, written by `UploadPartsTask`); set it
        at or below your organization's enqueued token limit and no part meets `token_limit_exceeded`.
    :param max_cost_usd: Refuse the job, before any batch is created, when the high figure of its
        parts' cost estimate (prompt tokens and the most every answer may hold, priced per model; each
        part's figures are in its file's name, written by `UploadPartsTask`) is above this many US
        dollars, or a part's model has no known price and `prices` does not name it. A part whose
        file's name carries no estimate (uploaded by another tool) refuses the job too.
    :param prices: Batch prices laid over the built-in table for `max_cost_usd` (and the models
        `max_enqueued_tokens` may name), ``{model: [input, output]}`` in US dollars per million tokens.
    """

    _TASK_TYPE = JOB_TASK_TYPE

    def __init__(
        self,
        name: str,
        config: dict[str, Any],
        openai_organization: str | None = None,
        base_url: str | None = None,
        accept_partial_results: bool = False,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        token_limit_wait_s: float = DEFAULT_TOKEN_LIMIT_WAIT_S,
        token_limit_attempts: int = DEFAULT_TOKEN_LIMIT_ATTEMPTS,
        delete_input_files: bool = True,
        resend_unanswered: bool = False,
        max_enqueued_tokens: int | Mapping[str, int] | TokenBudget | None = None,
        max_cost_usd: float | None = None,
        prices: Mapping[str, Sequence[float] | ModelPrice] | None = None,
        **kwargs: Any,
    ) -> None:
        where = f"BatchJobTask {name!r}"
        check_base_url(base_url, where)
        parsed_prices = parse_prices(prices)
        self._task_settings = JobTaskSettings(
            config=dict(config or {}),
            openai_organization=openai_organization,
            base_url=base_url,
            accept_partial_results=accept_partial_results,
            max_in_flight=max_in_flight,
            token_limit_wait_s=float(token_limit_wait_s),
            token_limit_attempts=token_limit_attempts,
            delete_input_files=delete_input_files,
            resend_unanswered=resend_unanswered,
            max_enqueued_tokens=TokenBudget.parse(max_enqueued_tokens, where, parsed_prices),
            max_cost_usd=max_cost_usd,
            prices=parsed_prices,
        )
        self._task_settings.check(name)
        super().__init__(
            name=name,
            task_type=self._TASK_TYPE,
            interface=Interface(
                inputs=kwtypes(input_file_ids=List[str]),  # noqa: UP006
                outputs=kwtypes(result=JobResult),
            ),
            **kwargs,
        )

    @classmethod
    def declared(cls: type[Declared], name: str, settings: JobTaskSettings) -> Declared:
        """The task of these settings (as another task's template kept them)."""
        return cls(name, **{f.name: getattr(settings, f.name) for f in fields(settings)})

    @property
    def task_settings(self) -> JobTaskSettings:
        return self._task_settings

    def get_custom(self, settings: SerializationSettings) -> dict[str, Any]:
        return self._task_settings.to_custom()
