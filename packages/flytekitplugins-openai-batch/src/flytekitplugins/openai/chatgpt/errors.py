"""The exception a ChatGPTTask raises on purpose (the engine's); API failures become a failed task,
not an exception. It is an `OpenAIBatchError` (one `except` catches every error of the plugins) and a
`ValueError` (what upstream's ChatGPTTask raised for a config without a model)."""

from openai_batch_jobs.errors import ChatGPTConfigError

__all__ = ["ChatGPTConfigError"]
