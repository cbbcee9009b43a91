"""Local runs of the batch tasks (`pyflyte run`, or calling the task in Python).

- `execution`: `LocalRunMixin`: the wait, the status line, failures as one paragraph, cancelling on signals.
- `poll`: the local executor's polling loop and its schedule (soon, then backing off).
"""
