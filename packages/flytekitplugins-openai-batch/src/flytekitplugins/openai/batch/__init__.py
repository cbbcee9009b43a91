"""The OpenAI Batch task and its async connector (agent)."""
