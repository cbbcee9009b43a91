"""Request files: checked and cut into batch-sized parts in one streaming pass.

- `limits`: the most one batch may hold (`PartLimits`), what validation and splitting both check.
- `validation`: the checks OpenAI would make after an upload, made before it (`RequestChecker`).
- `split`: the parts a file of any size is cut into (`plan_parts`).
- `request_keys`: each request's custom_id and model, in input order (what later steps need of them).
- `hashset`: a flat set of 64-bit hashes, for repeated custom_ids in flat memory.
"""
