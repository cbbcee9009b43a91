"""The committed cassettes: public, so nothing secret or machine-specific may be in them; none stale."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from integration.support.scrub import EMULATOR_ORIGIN, FORBIDDEN_HEADERS, OPENAI_ORIGIN, find_leaks

# pytest-recording's layout: cassettes/<test module>/<test name>.yaml beside the test modules.
CASSETTES = Path(__file__).resolve().parent / "cassettes"
ALL = sorted(CASSETTES.rglob("*.yaml"))


@pytest.fixture(autouse=True)
def _not_while_recording(record_mode: str) -> None:
    """Other workers rewrite the cassettes during a recording run; the next replay run checks them."""
    if record_mode != "none":
        pytest.skip("the cassettes are being recorded")


def _name(path: Path) -> str:
    return str(path.relative_to(CASSETTES))


def test_there_are_cassettes() -> None:
    assert len(ALL) >= 8, f"expected the recorded scenarios in {CASSETTES}, found {len(ALL)} cassettes"


@pytest.mark.parametrize("path", ALL, ids=_name)
def test_cassette_holds_no_secret(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert find_leaks(text) == []

    data: dict[str, Any] = yaml.safe_load(text)
    assert data["interactions"], "an empty cassette"
    for interaction in data["interactions"]:
        request, response = interaction["request"], interaction["response"]
        names = {h.lower() for h in request["headers"]} | {h.lower() for h in response["headers"]}
        assert not names & FORBIDDEN_HEADERS, f"identifying headers kept: {sorted(names & FORBIDDEN_HEADERS)}"
        assert request["uri"].startswith((f"{EMULATOR_ORIGIN}/v1/", f"{OPENAI_ORIGIN}/v1/")), request["uri"]


@pytest.mark.parametrize("path", ALL, ids=_name)
def test_cassette_belongs_to_a_test(path: Path) -> None:
    module = CASSETTES.parent / f"{path.parent.name}.py"
    assert module.exists(), f"no test module {module.name} for cassette {_name(path)}"
    test_name = re.split(r"[-.\[]", path.stem, maxsplit=1)[0]
    assert re.search(rf"^def {re.escape(test_name)}\(", module.read_text(), re.M), (
        f"no test {test_name} in {module.name}: delete the stale cassette {_name(path)}"
    )
