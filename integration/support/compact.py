"""Shorten the polling in a fresh recording: keep the first and last answer of each unchanged stretch.

flytekit's local executor polls once a second, so a batch that OpenAI runs for ten minutes would
leave six hundred identical GETs in its cassette. Consecutive polls of one batch that report the
same status are cut down to the first and the last of the stretch: the replay then walks the same
status transitions (and the last counts of each status) in a few requests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vcr.serializers import yamlserializer


def _poll_state(interaction: dict[str, Any]) -> tuple[str, str] | None:
    """(uri, status) of a successful GET of a batch, None for any other interaction."""
    request, response = interaction["request"], interaction["response"]
    if (
        request["method"] != "GET"
        or "/v1/batches/" not in request["uri"]
        or response["status"]["code"] != 200
    ):
        return None
    try:
        status = json.loads(response["body"]["string"]).get("status")
    except (ValueError, AttributeError):
        return None
    return (request["uri"], str(status)) if status else None


def compact_interactions(interactions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    run: list[dict[str, Any]] = []
    run_state: tuple[str, str] | None = None

    def flush() -> None:
        kept.extend(run if len(run) <= 2 else [run[0], run[-1]])
        run.clear()

    for interaction in interactions:
        state = _poll_state(interaction)
        if state is None or state != run_state:
            flush()
        if state is None:
            kept.append(interaction)
            run_state = None
        else:
            run.append(interaction)
            run_state = state
    flush()
    return kept


def compact_cassette(path: Path) -> tuple[int, int]:
    """Rewrite the cassette at `path` with its polling shortened; returns (before, after) counts."""
    data = yamlserializer.deserialize(path.read_text(encoding="utf-8"))
    before = data["interactions"]
    after = compact_interactions(before)
    if len(after) != len(before):
        data["interactions"] = after
        path.write_text(yamlserializer.serialize(data), encoding="utf-8")
    return len(before), len(after)
