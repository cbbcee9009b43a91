"""What the download and collect tasks hand back, in flytekit's types.

- `result`: `BatchResult` (the output and error files, the results table) and `RoundState` (what a
  job's round hands to the next).
- `literals`: how those and the job task's `JobResult` become Flyte literals (registered here).
- `report`: the engine's report as a flytekit `Deck` and its table as a `StructuredDataset`.
"""

from . import literals

__all__ = ["literals"]
