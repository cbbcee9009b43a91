"""A local server of the OpenAI Files and Batch APIs."""
