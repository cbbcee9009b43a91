"""ChatGPTTask: one chat completion as a Flyte task, answered by the `chatgpt` connector."""

from __future__ import annotations

import copy
from typing import Any

from flytekit.configuration import SerializationSettings
from flytekit.core.base_task import PythonTask, kwtypes
from flytekit.core.interface import Interface

from flytekitplugins.openai.batch._compat import SyncExecutorMixin
from openai_batch_jobs.api.batch_config import check_base_url

from .config import TASK_TYPE, parse_chatgpt_config
from .errors import ChatGPTConfigError


class ChatGPTTask(SyncExecutorMixin, PythonTask):
    """Send the input `message` to a chat model and return its answer as `o0`.

    The task runs in no pod: FlytePropeller hands it to the connector service (the same one as the
    batch task's, with the same `FLYTE_OPENAI_API_KEY` secret), which answers within one call.

    :param name: Name of this task, unique in its project.
    :param chatgpt_config: `chat.completions.create` arguments; `model` is required. `messages` given
        here (a system prompt, say) are sent before the task's message; `stream` and `n` > 1 are refused
        (the task returns one answer). Checked here, so a typo fails at definition time.
    :param openai_organization: OpenAI organization id, if the connector's key belongs to several.
    :param base_url: An OpenAI-compatible API; default: the connector's OPENAI_BASE_URL, else OpenAI.
    """

    _TASK_TYPE = TASK_TYPE

    def __init__(
        self,
        name: str,
        chatgpt_config: dict[str, Any],
        openai_organization: str | None = None,
        base_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        parse_chatgpt_config(chatgpt_config, task_name=name)
        check_base_url(base_url, f"ChatGPTTask {name!r}", ChatGPTConfigError)
        super().__init__(
            name=name,
            task_type=self._TASK_TYPE,
            # Upstream's attribute: code that read task.task_config keeps working.
            task_config={
                "openai_organization": openai_organization,
                "chatgpt_config": copy.deepcopy(dict(chatgpt_config)),
            },
            interface=Interface(inputs=kwtypes(message=str), outputs=kwtypes(o0=str)),
            **kwargs,
        )
        self._base_url = base_url

    def get_custom(self, settings: SerializationSettings) -> dict[str, Any]:
        custom: dict[str, Any] = {
            "openai_organization": self.task_config["openai_organization"],
            "chatgpt_config": self.task_config["chatgpt_config"],
        }
        if self._base_url:
            custom["base_url"] = self._base_url
        return custom
