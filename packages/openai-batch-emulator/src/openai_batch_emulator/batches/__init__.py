"""The Batch API: a batch's whole lifecycle, from its create request to its result files.

- `engine`: `BatchEngine`, the API's operations (create, retrieve, list, cancel) and the ticker.
- `create`: the checks of a create request, and the endpoints a batch may target (`SPEC_ENDPOINTS`).
- `record`: `BatchRecord`, what is persisted about a batch, its schedule and its API shape.
- `_store`: the records in memory and on disk, each with its lock.
- `_schedule`: time passing: a batch's due events applied in order (validate, answer, settle, expire).
- `_validation`: the checks of an input file while a batch is `validating`.
- `_tokens`: the enqueued tokens of the batches in flight, against a model's limit.
- `_answering`: a scheduled batch's requests answered at their times into its result files.
- `_results`: a batch's end: final state, expired lines, result files handed to the Files API.
- `jsonl`: the input read line by line; result lines in OpenAI's shape (shared with forwarding).
"""
