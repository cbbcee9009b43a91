"""The synchronous connector (agent) of `chatgpt` tasks: one chat completion per ExecuteTaskSync call.

FlytePropeller waits for the answer within its call deadline (`defaultTimeout`, 10 s unless set), so
the whole call, retries included, is bounded by FLYTE_OPENAI_CHATGPT_TIMEOUT (8 s by default): the
SDK retries 429 (honouring Retry-After), 5xx and dropped connections, and the request is cancelled
when the time is up. The key, the base-URL allow-list and the key-free error messages are the batch
connector's. A refused request fails the task with the API's reason; a transient fault that outlasts
the retries fails it as retryable, so Flyte's task retries can run it again.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

from flyteidl.core.execution_pb2 import TaskExecution
from flytekit import logger
from flytekit.models.literals import LiteralMap
from flytekit.models.task import TaskTemplate

from flytekitplugins.openai.batch._compat import Resource, SyncConnectorBase, register_once
from flytekitplugins.openai.core.keys import connector_api_key, connector_base_url
from openai_batch_jobs.api._sdk import openai
from openai_batch_jobs.api.client import shared_async_client
from openai_batch_jobs.api.retry import TRANSFER, describe_failure, is_transient, transient_errors

from .config import TASK_TYPE, parse_chatgpt_config
from .errors import ChatGPTConfigError

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletion

# Seconds the connector gives one task's answer, retries included; keep it below propeller's deadline
# for ExecuteTaskSync (raise both together for slow models).
TIMEOUT_ENV = "FLYTE_OPENAI_CHATGPT_TIMEOUT"
DEFAULT_TIMEOUT_S = 8.0


class ChatGPTConnector(SyncConnectorBase):
    """Runs ChatGPTTask on OpenAI's chat completions API (or a compatible server)."""

    name = "ChatGPT Connector"

    def __init__(self) -> None:
        super().__init__(task_type_name=TASK_TYPE)

    async def do(
        self,
        task_template: TaskTemplate,
        inputs: LiteralMap | None = None,
        output_prefix: str | None = None,
        **kwargs: Any,
    ) -> Resource:
        """Ask the model; the answer is the output `o0`.

        `inputs` comes second, as in upstream's connector; flytekit itself passes every argument by name.
        """
        # Imported here: batch.connector imports flytekit, whose plugin loading imports this module.
        from flytekitplugins.openai.batch.connector import string_input

        custom = task_template.custom or {}
        config = parse_chatgpt_config(custom.get("chatgpt_config"), task_name=task_template.id.name or None)
        organization = custom.get("openai_organization") or None
        base_url = connector_base_url(custom.get("base_url"))
        message = string_input(inputs, "message")
        if message is None:
            raise ValueError("The chatgpt task needs its input message (the user message to send).")
        api_key = connector_api_key()
        timeout = answer_timeout()
        messages = [*config.pop("messages", []), {"role": "user", "content": message}]
        action = f"Asking {config['model']}"
        try:
            # The SDK retries under the TRANSFER policy, all of it inside `timeout`, on the client the
            # connector keeps for this key and server.
            client = shared_async_client(api_key, organization, base_url).with_options(
                max_retries=TRANSFER.sdk_max_retries, timeout=timeout
            )
            completion = await asyncio.wait_for(
                client.chat.completions.create(messages=messages, **config), timeout
            )
        except asyncio.TimeoutError:
            return Resource(
                phase=TaskExecution.RETRYABLE_FAILED,
                message=(
                    f"{action}: no answer within {timeout:g} s (the connector's {TIMEOUT_ENV}; transient "
                    "faults were retried meanwhile). For a slow model raise it together with "
                    "FlytePropeller's ExecuteTaskSync timeout."
                ),
            )
        except (openai.APIError, *transient_errors()) as exc:
            phase = TaskExecution.RETRYABLE_FAILED if is_transient(exc) else TaskExecution.FAILED
            return Resource(
                phase=phase, message=describe_failure(action, exc, api_key, max_retries=TRANSFER.retries)
            )
        return _answer(completion)


def answer_timeout() -> float:
    """The connector's bound on one answer, from FLYTE_OPENAI_CHATGPT_TIMEOUT (seconds)."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        timeout = float(raw)
    except ValueError:
        timeout = 0.0
    if not timeout > 0:
        raise ChatGPTConfigError(f"{TIMEOUT_ENV} must be a positive number of seconds, got {raw!r}.")
    return timeout


def _answer(completion: ChatCompletion) -> Resource:
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
        return Resource(
            phase=TaskExecution.FAILED,
            message=f"{completion.model} answered no text (finish_reason {info['finish_reason']!r}{why}).",
            custom_info=info,
        )
    logger.info(f"ChatGPT completion {completion.id} finished ({info['finish_reason']})")
    return Resource(phase=TaskExecution.SUCCEEDED, outputs={"o0": text}, custom_info=info)


ChatGPTAgent = ChatGPTConnector

register_once(ChatGPTConnector, TASK_TYPE)
