"""A running job as its caller sees it.

- `status`: a batch's status read as an outcome (running, done, failed, worth trying again) and its message.
- `settings`: the typed settings of the batch tasks, read from and written to a template's `custom`.
- `budget`: the job's budget of enqueued tokens (`max_enqueued_tokens`): which parts wait for room.
- `part_estimates`: the parts' estimates from their files' names, and the cost cap that refuses a job.
- `state`: a job of many parts (`Job`) and where it stands from its batches (parts, in flight, waits).
- `records`: what a connector keeps between calls for a batch or a job, as JSON.
- `runner`: the calls that start, poll and cancel a job (a job connector's CreateTask, GetTask, DeleteTask).
- `progress`: the one-line status of a run, for a terminal and for a log.
"""
