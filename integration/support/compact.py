"""Shorten the polling in a recording: keep the first and last answer of each unchanged stretch.

flytekit's local executor polls once a second, so a batch that OpenAI runs for ten minutes would
leave six hundred identical GETs in its cassette. Consecutive polls of one batch that report the
same status are cut down to the first and the last of the stretch as the cassette is saved: the
replay then walks the same status transitions (and the last counts of each status) in a few requests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

Interaction = tuple[Any, dict[str, Any]]  # (vcrpy Request, response dict)


def _poll_state(interaction: Interaction) -> tuple[str, str] | None:
    """(uri, status) of a successful GET of a batch, None for any other interaction."""
    request, response = interaction
    if request.method != "GET" or "/v1/batches/" not in request.uri or response["status"]["code"] != 200:
        return None
    try:
        status = json.loads(response["body"]["string"]).get("status")
    except (ValueError, AttributeError):
        return None
    return (request.uri, str(status)) if status else None


def compact_interactions(interactions: list[Interaction]) -> list[Interaction]:
    kept: list[Interaction] = []
    run: list[Interaction] = []
    for interaction in interactions:
        state = _poll_state(interaction)
        if run and state != _poll_state(run[0]):
            kept.extend(run if len(run) <= 2 else [run[0], run[-1]])
            run = []
        if state is None:
            kept.append(interaction)
        else:
            run.append(interaction)
    kept.extend(run if len(run) <= 2 else [run[0], run[-1]])
    return kept


@dataclass
class CompactingPersister:
    """A vcrpy persister that compacts the polling of what it saves and loads through `inner`."""

    inner: Any

    def load_cassette(self, cassette_path: Any, serializer: Any) -> Any:
        return self.inner.load_cassette(cassette_path, serializer=serializer)

    def save_cassette(self, cassette_path: Any, cassette_dict: dict[str, Any], serializer: Any) -> None:
        kept = compact_interactions(
            list(zip(cassette_dict["requests"], cassette_dict["responses"], strict=True))
        )
        compacted = {**cassette_dict, "requests": [r for r, _ in kept], "responses": [r for _, r in kept]}
        self.inner.save_cassette(cassette_path, compacted, serializer=serializer)
