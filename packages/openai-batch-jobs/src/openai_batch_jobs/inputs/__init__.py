"""Request files: checked and cut into batch-sized parts in one streaming pass.

- `limits`: the most one batch may hold (`PartLimits`), what validation and splitting both check.
- `validation`: the checks OpenAI would make after an upload, made before it (`RequestChecker`).
- `_request_lines`: how the checks read lines: one of any shape, or a run of chat requests at once.
- `estimate`: each request's prompt tokens (a cheap method, and a bound for a token budget) and the
  most its answer may hold, counted in the validation pass.
- `part_names`: a part's file name on the server, tagged with its token estimate and model.
- `split`: the parts a file of any size is cut into (`plan_parts`).
- `elsewhere`: `plan_parts` in a child process on another core, while the caller does its own work.
- `request_keys`: each request's custom_id and model, in input order (what later steps need of them),
  read from request files and keys files, and each part's keys file written as the input is cut.
- `hashset`: a flat set of 64-bit hashes, for repeated custom_ids in flat memory.
"""
