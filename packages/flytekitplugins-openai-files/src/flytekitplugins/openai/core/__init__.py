"""The shared layer the files, batch and meta packages build on (shipped in `flytekitplugins-openai-files`).

Everything that more than one part of the plugin needs lives here, once, under public names, so no
part reaches into another's private modules:

- `errors`: every exception the plugins raise on purpose, under one base, `OpenAIBatchError`.
- `client`: building an `openai.OpenAI` client (base URL, organization, retries, timeout).
- `keys`: reading the API key (a task pod's Flyte secret, the connector's secret) and the
  connector's allow-list of servers it sends its key to.
- `server_files`: deleting files on the server, best effort and within a deadline.
- `redact`: masking keys in text that people may see.
- `retry`: the one retry policy of every call that reaches the API, what counts as transient, and
  running a call under a policy.
- `batch_api`: facts of the Batch API: endpoints, limits, statuses, and how a batch's errors read.
- `prices`: Batch API prices per model, for the results' cost estimate.
- `settings`: reading a task template's `custom` with errors that name the task.

Importing it is cheap: `openai` is loaded lazily, when a client is first built.
"""
