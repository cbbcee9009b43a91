"""Asking a model for one answer within a bounded time, and reading the answer as an outcome.

A synchronous connector call has a deadline (FlytePropeller's `defaultTimeout` of ExecuteTaskSync,
10 s unless set), so the whole question, retries included, is bounded by FLYTE_OPENAI_CHATGPT_TIMEOUT
(8 s by default): the SDK retries 429 (honouring Retry-After), 5xx and dropped connections under the
TRANSFER policy, and the request is cancelled when the time is up. A refused request is a failure with
the API's reason; a transient fault that outlasts the retries is worth a new attempt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openai_batch_jobs.api._sdk import openai
from openai_batch_jobs.api.retry import TRANSFER, describe_failure, is_transient, transient_errors
from openai_batch_jobs.errors import ChatGPTConfigError
from openai_batch_jobs.job.status import Outcome
from openai_batch_jobs.settings import env_seconds

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletion

logger = logging.getLogger("openai_batch_jobs")

# Seconds the connector gives one task's answer, retries included; keep it below propeller's deadline
# for ExecuteTaskSync (raise both together for slow models).
TIMEOUT_ENV = "FLYTE_OPENAI_CHATGPT_TIMEOUT"
DEFAULT_TIMEOUT_S = 8.0


@dataclass(frozen=True)
class ChatAnswer:
    """The outcome of one question: the answer's text on success, else why there is none; `info`
    (completion id, model, finish reason, usage) for a console."""

    outcome: Outcome
    text: str | None = None
    message: str | None = None
    info: dict[str, Any] | None = None


def answer_timeout() -> float:
    """The bound on one answer, from FLYTE_OPENAI_CHATGPT_TIMEOUT (seconds)."""
    return env_seconds(TIMEOUT_ENV, DEFAULT_TIMEOUT_S, ChatGPTConfigError)


async def ask(
    client: AsyncOpenAI, config: Mapping[str, Any], message: str, api_key: str, timeout: float
) -> ChatAnswer:
    """Ask `config["model"]` `message` (after `config`'s own messages) on `client`, within `timeout`."""
    options = dict(config)
    messages = [*options.pop("messages", []), {"role": "user", "content": message}]
    action = f"Asking {options['model']}"
    # The SDK retries under the TRANSFER policy, all of it inside `timeout`.
    retrying = client.with_options(max_retries=TRANSFER.sdk_max_retries, timeout=timeout)
    try:
        completion = await asyncio.wait_for(
            retrying.chat.completions.create(messages=messages, **options), timeout
        )
    except asyncio.TimeoutError:
        return ChatAnswer(
            Outcome.RETRYABLE_FAILED,
            message=(
                f"{action}: no answer within {timeout:g} s (the connector's {TIMEOUT_ENV}; transient "
                "faults were retried meanwhile). For a slow model raise it together with "
                "FlytePropeller's ExecuteTaskSync timeout."
            ),
        )
    except (openai.APIError, *transient_errors()) as exc:
        outcome = Outcome.RETRYABLE_FAILED if is_transient(exc) else Outcome.FAILED
        return ChatAnswer(
            outcome, message=describe_failure(action, exc, api_key, max_retries=TRANSFER.retries)
        )
    return answer_of(completion)


def answer_of(completion: ChatCompletion) -> ChatAnswer:
    """The completion's text, or a failure saying why it has none (a refusal, say)."""
    choice = completion.choices[0] if completion.choices else None
    info: dict[str, Any] = {
        "completion_id": completion.id,
        "model": completion.model,
        "finish_reason": choice.finish_reason if choice else None,
    }
    if completion.usage is not None:
        info["usage"] = completion.usage.to_dict(mode="json")
    text = choice.message.content if choice else None
    if text is None:
        refusal = getattr(choice.message, "refusal", None) if choice else None
        why = f"; refusal: {refusal}" if refusal else ""
        return ChatAnswer(
            Outcome.FAILED,
            message=f"{completion.model} answered no text (finish_reason {info['finish_reason']!r}{why}).",
            info=info,
        )
    logger.info(f"ChatGPT completion {completion.id} finished ({info['finish_reason']})")
    return ChatAnswer(Outcome.SUCCEEDED, text=text, info=info)
