"""The settings a BatchEndpointTask writes into its template (kept in the engine, which knows no Flyte)."""

from openai_batch_jobs.job.settings import BatchTaskSettings

__all__ = ["BatchTaskSettings"]
