"""The job task: the batches of a large input's parts as one Flyte task.

- `task`: `BatchJobTask`, the files package's declaration plus local runs through the connector.
- `connector`: `BatchJobConnector`, whose CreateTask, GetTask and DeleteTask run the engine's job.
- `meta`: `BatchJobMetadata`, what propeller keeps between the connector's calls (JSON).
- `settings`: the settings the task writes into its template (the engine's).
"""
