"""OpenAI Batch API jobs of any size, with no framework: what the Flyte plugins (and any other) build on.

It imports neither flytekit, flyte, flyteidl nor grpc (a test imports every module with those
blocked), and `openai` only when a client is first built, so importing it is cheap.

- `errors`: every exception raised on purpose, under one base, `OpenAIBatchError`.
- `json_lines`: reading one JSONL line fast, with the standard library's verdict.
- `settings`: reading a task's settings dict with errors that name the task and the key.
- `messages`: counts and warnings as a user reads them.
- `clock`: the clock and the id factory the engine reads, which a replay or a test swaps with `using`.
- `interrupts`: a local run that SIGINT, SIGTERM or SIGHUP ends: cleanup, one message, the shell's status.
- `inputs`: validating and splitting request files.
- `api`: clients, the retry policy, the Batch API's calls, which servers a key may go to.
- `files`: the Files API's uploads, downloads and deletes.
- `job`: a batch's status as an outcome, the task settings, a job of many parts (its state and the
  calls that start, poll and cancel it), what a connector keeps between calls, the progress line.
- `chat`: one chat completion as a task (its config, asking within a bounded time).
- `results`: result lines, accounting for every request, request rounds.
- `report`: the results table, the summary, the report's HTML, the price table.
- `recovery`: re-attaching a killed local run to what it created; finding and removing orphans.
"""
