"""What a finished job shows: a table, a summary, a page.

- `results_table`: one row per request, in input order, as Parquet: each row made by `_table_rows`
  from the fields of its result line msgspec decodes, the file written by `_parquet` (no pyarrow).
- `summary`: totals, failures by code, tokens, estimated cost and batch timelines, as JSON.
- `deck`: the summary as one self-contained HTML page (a Flyte Deck, a Flyte 2 report).
- `job_report`: the table and the summary of a whole job in one pass.
- `prices`: Batch API prices per model.
- `cost`: a job's cost estimated before its upload, and the cap (``max_cost_usd``) that refuses it.
"""
