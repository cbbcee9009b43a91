"""One chat completion as a task: what a ChatGPTTask's connector asks and how its answer reads.

- `config`: the task's `chatgpt_config` (`chat.completions.create` arguments), checked early.
- `answer`: asking within a bounded time, and the answer (or why there is none) as an outcome.
"""
