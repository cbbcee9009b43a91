"""A running job as its caller sees it.

- `status`: a batch's status read as an outcome (running, done, failed, worth trying again) and its message.
- `progress`: the one-line status of a run, for a terminal and for a log.
- `task_settings`: a job task's settings (its batches' config, how many run at once), as its template keeps them.
"""
