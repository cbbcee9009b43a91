"""The OpenAI Files and Batch APIs, as every step calls them.

- `client`: building an SDK client (base URL, organization, retries, timeout); the connectors' shared
  async client, one per event loop, key and server.
- `retry`: the one retry policy of every call, what counts as transient, running a call under it.
- `batch_api`: facts of the Batch API: endpoints, limits, statuses, how a batch's errors read.
- `batch_config`: the `batches.create` arguments a task may carry, checked where it is declared.
- `batches`: creating a batch tagged with its owner (and finding it again), polling and cancelling one.
- `_listing`: the server's batches listed once for the look-ups that ask at the same time, the
  latest listing kept for polls that only report.
- `server_files`: deleting files on the server, best effort within a deadline.
- `file_download`: downloading a file, streamed, tried again when its body breaks off.
- `uploads`: uploading request files (a split input's parts side by side), deleting them, saying what failed.
- `servers`: which servers a shared key may be sent to, and whether a server takes a key.
- `redact`: masking keys in text people may see.
- `_sdk`: the `openai` module, imported on first use, thread-safe.
"""
