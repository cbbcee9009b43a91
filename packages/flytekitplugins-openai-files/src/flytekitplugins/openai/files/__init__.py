"""Upload and download container tasks for the OpenAI Batch API."""
