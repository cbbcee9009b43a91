"""The `chatgpt_config` of a ChatGPTTask, checked by the engine (`openai_batch_jobs.chat.config`)."""

from openai_batch_jobs.chat.config import TASK_TYPE, parse_chatgpt_config

__all__ = ["TASK_TYPE", "parse_chatgpt_config"]
