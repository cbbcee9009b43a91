"""The Batch API: a batch's whole lifecycle, from its create request to its result files.

- `engine`: `BatchEngine` and `BatchRecord`: create, retrieve, list, cancel, and time passing.
- `validation`: the checks of an input file while a batch is `validating`, and its line reader.
"""
