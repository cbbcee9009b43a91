"""A whole job from one process: what a face needs that runs the job's steps in its own code (Flyte 2's
tasks are plain async Python, so its face uploads, collects and starts rounds itself).

- `transfer`: request files up and result files down, streamed, with the one retry policy.
- `parts`: one round's parts downloaded side by side, as `request_retry.collect_round` reads them.
"""
