"""OpenAI's list objects, shared by the files and batches listings: cursor pages and their `limit`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from .errors import bad_request


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_HasId)


def page_after(ordered: Sequence[T], after: str | None, unknown: str) -> Sequence[T]:
    """What follows the item `after` in `ordered` (all of it without `after`); `unknown` is the error
    message when no item has that id."""
    if not after:
        return ordered
    ids = [item.id for item in ordered]
    if after not in ids:
        raise bad_request(unknown, param="after")
    return ordered[ids.index(after) + 1 :]


def list_page(data: list[dict[str, Any]], *, has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


def int_param(raw: str | None, name: str, *, default: int, low: int, high: int) -> int:
    """A query parameter that is a whole number in `low..high`, or `default` when it is absent."""
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"Invalid '{name}': expected an integer, got '{raw}'.", param=name) from None
    if not low <= value <= high:
        raise bad_request(
            f"Invalid '{name}': {value} is outside the allowed range {low}..{high}.",
            param=name,
            code="invalid_value",
        )
    return value
