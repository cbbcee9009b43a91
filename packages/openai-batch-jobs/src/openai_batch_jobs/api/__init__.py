"""The OpenAI API as every step calls it: clients, the retry policy, the Batch API's calls and facts.

The Files API's transfers (uploads, downloads, deletes) are in `openai_batch_jobs.files`.

- `client`: building an SDK client (base URL, organization, retries, timeout); the connectors' shared
  async client, one per event loop, key and server.
- `retry`: the one retry policy of every call, what counts as transient, running a call under it.
- `batch_api`: facts of the Batch API: endpoints, limits, statuses, how a batch's errors read.
- `batch_config`: the `batches.create` arguments a task may carry, checked where it is declared.
- `batches`: creating a batch tagged with its owner (and finding it again), polling and cancelling one.
- `_listing`: the server's batches listed once for the look-ups that ask at the same time, the
  latest listing kept for polls that only report.
- `servers`: which servers a shared key may be sent to, and whether a server takes a key.
- `redact`: masking keys in text people may see.
- `_sdk`: the `openai` module, imported on first use, thread-safe.
"""
