"""The synchronous connector (agent) of `chatgpt` tasks: one chat completion per ExecuteTaskSync call.

What it asks and how the answer reads is the engine's (`openai_batch_jobs.chat.answer`: bounded by
FLYTE_OPENAI_CHATGPT_TIMEOUT, 8 s by default, inside propeller's call deadline). The key, the
base-URL allow-list, the key-free error messages and the shared async client are the batch
connector's. A refused request fails the task with the API's reason; a transient fault that outlasts
the retries fails it as retryable, so Flyte's task retries can run it again.
"""

from __future__ import annotations

from typing import Any

from flytekit.models.literals import LiteralMap
from flytekit.models.task import TaskTemplate

from flytekitplugins.openai.batch._compat import Resource, SyncConnectorBase, register_once
from flytekitplugins.openai.batch._phases import phase_of
from openai_batch_jobs.chat.answer import TIMEOUT_ENV as TIMEOUT_ENV
from openai_batch_jobs.chat.answer import answer_timeout, ask

from .config import TASK_TYPE, parse_chatgpt_config


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
        from flytekitplugins.openai.batch._connector_base import client_for
        from flytekitplugins.openai.batch.connector import string_input

        custom = task_template.custom or {}
        config = parse_chatgpt_config(custom.get("chatgpt_config"), task_name=task_template.id.name or None)
        message = string_input(inputs, "message")
        if message is None:
            raise ValueError("The chatgpt task needs its input message (the user message to send).")
        client, api_key = client_for(custom.get("openai_organization") or None, custom.get("base_url"))
        answer = await ask(client, config, message, api_key, answer_timeout())
        return Resource(
            phase=phase_of(answer.outcome),
            message=answer.message,
            outputs={"o0": answer.text} if answer.text is not None else None,
            custom_info=answer.info,
        )


ChatGPTAgent = ChatGPTConnector

register_once(ChatGPTConnector, TASK_TYPE)
