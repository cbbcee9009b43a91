"""The engine's report in flytekit's types: the deck as a flytekit `Deck`, the table as a `StructuredDataset`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flytekit import Deck
from flytekit.types.structured import StructuredDataset

from openai_batch_jobs.report.deck import DECK_NAME, render_deck
from openai_batch_jobs.report.results_table import ResultsTable


def publish_deck(summary: Mapping[str, Any], title: str = DECK_NAME) -> Deck:
    """Add the deck to the running task (shown in Flyte's console when the task enables decks)."""
    return Deck(title, render_deck(summary, title))


def table_dataset(table: ResultsTable) -> StructuredDataset:
    """The table as a Flyte StructuredDataset (Parquet), for a task output or a BatchResult field."""
    return StructuredDataset(uri=table.directory, file_format="parquet")
