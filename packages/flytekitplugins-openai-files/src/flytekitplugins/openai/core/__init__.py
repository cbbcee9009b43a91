"""What the flytekit faces share beyond the engine (shipped in `flytekitplugins-openai-files`).

Everything that knows no Flyte is in the engine, `openai_batch_jobs`; this keeps the little that
reads Flyte's own machinery:

- `keys`: the API key from a task pod's Flyte secret or from the connector's secret, and the
  connector's allow-list of servers (the engine's `api.servers`) under the names the connectors use.
"""
