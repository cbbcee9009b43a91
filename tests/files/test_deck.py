"""The deck and the JSON summary of a real job, looked at as a person would: rendered by headless Chromium,
its screenshot is not blank and the numbers it shows are the data's."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import openai
import pytest
from PIL import Image

from flytekitplugins.openai.files.outputs.report import publish_deck
from openai_batch_emulator import Emulator
from openai_batch_jobs.api.batch_api import job_counts
from openai_batch_jobs.report.deck import _usd, render_deck
from openai_batch_jobs.report.job_report import JobResults, summarize_job
from openai_batch_jobs.report.prices import BATCH_PRICES, ModelPrice, price_of
from openai_batch_jobs.report.results_table import COLUMNS
from tests.support.browser import require_browser, screenshot, shown_text
from tests.support.rounds import (
    chat,
    emulator_settings,  # noqa: F401 (the fixture)
    run_job,
    write_jsonl,
)

UNPRICED = "gpt-9-preview"  # answered by the emulator, in no price table


@pytest.fixture
def results(emulator: Emulator, openai_client: openai.OpenAI, tmp_path: Path) -> JobResults:
    """A two-part job: 30 gpt-4o-mini requests (4 fail once with 429, 2 for good with 400) and 10 for a
    model without a price, run round by round, each phase taking seconds so the timelines show them."""
    emulator.configure(
        validating_seconds=1.0,
        finalizing_seconds=1.0,
        requests_per_second=15,
        fail_requests=[
            {"custom_ids": "^mini-0[0-3]$", "status": 429, "attempts": 1},
            {"custom_ids": "^mini-1[01]$", "status": 400},
        ],
    )
    first = write_jsonl(tmp_path / "mini.jsonl", (chat(f"mini-{i:02d}", "x" * 40 * i) for i in range(30)))
    second = write_jsonl(
        tmp_path / "preview.jsonl", (chat(f"preview-{i}", "y" * 12, model=UNPRICED) for i in range(10))
    )
    ran = run_job(openai_client, [first, second], tmp_path)
    return summarize_job(
        [str(first), str(second)],
        str(ran.output),
        str(ran.errors),
        table_directory=str(tmp_path / "table"),
        starts=ran.starts,
        rounds=ran.rounds,
        max_request_attempts=3,
    )


def test_summary_json(results: JobResults) -> None:
    summary = json.loads(json.dumps(results.summary))  # JSON as it is, nothing to convert
    assert (summary["requests"], summary["succeeded"], summary["failed"], summary["missing"]) == (
        40,
        38,
        2,
        0,
    )
    assert summary["resent"] == 4
    assert summary["attempts"] == {"1": 36, "2": 4}
    [failure] = summary["failures"]
    assert (failure["code"], failure["count"], failure["http_status"]) == ("invalid_request_error", 2, 400)
    assert failure["example"]["custom_id"] == "mini-10"
    assert "fail_requests" in failure["example"]["message"]
    cost = summary["cost"]
    assert cost["unknown_models"] == [UNPRICED]
    models = {m["model"]: m for m in cost["models"]}
    assert models[UNPRICED]["usd"] is None
    mini = models["gpt-4o-mini"]
    price = BATCH_PRICES["gpt-4o-mini"]
    expected = (
        mini["prompt_tokens"] * price.input_per_million + mini["completion_tokens"] * price.output_per_million
    ) / 1e6
    assert mini["usd"] == pytest.approx(expected)
    assert cost["known_usd"] == pytest.approx(expected)
    # Round 1 ran both parts; round 2 sent the four 429s again as one part.
    assert [(b["round"], b["part"], b["status"]) for b in summary["batches"]] == [
        (1, 1, "completed"),
        (1, 2, "completed"),
        (2, 1, "completed"),
    ]
    for batch in summary["batches"]:
        spans = [batch["phases"][p] for p in ("validating", "in_progress", "finalizing")]
        assert all(span is not None and span[0] <= span[1] for span in spans)
        assert spans[0][1] <= spans[1][0] <= spans[1][1] <= spans[2][0]
    assert summary["batches"][2]["request_counts"]["total"] == 4


def test_user_prices_and_snapshots() -> None:
    assert price_of("gpt-4o-mini-2024-07-18") == BATCH_PRICES["gpt-4o-mini"]
    assert price_of("gpt-4o-2024-05-13") == BATCH_PRICES["gpt-4o-2024-05-13"] != BATCH_PRICES["gpt-4o"]
    assert price_of(UNPRICED) is None
    mine = {UNPRICED: ModelPrice(1.0, 2.0), "gpt-4o-mini": ModelPrice(0.0, 0.0)}
    assert price_of(UNPRICED, mine) == ModelPrice(1.0, 2.0)
    assert price_of("gpt-4o-mini", mine) == ModelPrice(0.0, 0.0)
    with pytest.raises(ValueError, match="cannot be negative"):
        ModelPrice(-1.0)


def as_columns(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows of the results table (a dict each, missing columns None) as the columns the summary counts."""
    return [tuple(row.get(name) for row in rows) for name in COLUMNS]


def test_overridden_prices_reach_the_summary(results: JobResults, tmp_path: Path) -> None:
    from openai_batch_jobs.report.summary import SummaryBuilder

    builder = SummaryBuilder()
    builder.add_columns(
        as_columns(
            [
                {
                    "custom_id": "a",
                    "status": "succeeded",
                    "model": UNPRICED,
                    "prompt_tokens": 1_000_000,
                    "completion_tokens": 500_000,
                }
            ]
        )
    )
    cost = builder.build(prices={UNPRICED: ModelPrice(1.0, 2.0)})["cost"]
    assert (cost["known_usd"], cost["unknown_models"], cost["overridden"]) == (2.0, [], [UNPRICED])


def test_job_counts_for_custom_info() -> None:
    batches: list[dict[str, Any]] = [
        {"status": "completed", "request_counts": {"total": 10, "completed": 9, "failed": 1}},
        {"status": "in_progress", "request_counts": {"total": 10, "completed": 4, "failed": 0}},
        {"status": "validating", "request_counts": None},
    ]
    assert job_counts(batches) == {
        "parts": 3,
        "parts_done": 1,
        "requests": 20,
        "requests_completed": 13,
        "requests_failed": 1,
    }


def test_deck_is_added_to_the_task(results: JobResults) -> None:
    from flytekit.core.context_manager import FlyteContextManager

    decks = FlyteContextManager.current_context().user_space_params.decks
    before = len(decks)
    deck = publish_deck(results.summary)
    assert deck.name == "OpenAI batch results"
    assert len(decks) == before + 1
    assert "<svg" in deck.html


@pytest.mark.slow
@pytest.mark.timeout(1800)  # under CI with no browser yet, apt-get installs one first
def test_the_deck_as_a_person_sees_it(results: JobResults, tmp_path: Path) -> None:
    chromium = require_browser()
    page = tmp_path / "deck.html"
    page.write_text(render_deck(results.summary), encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.read_text()), "the deck must fetch nothing"

    png = screenshot(chromium, page, tmp_path / "deck.png")
    image = Image.open(png).convert("RGB")
    assert image.size == (1000, 1600)
    counts = {color: n for n, color in image.getcolors(maxcolors=1 << 24) or []}
    inked = sum(counts.values()) - counts.get((255, 255, 255), 0)
    assert inked > 0.02 * sum(counts.values()), "the screenshot is (nearly) blank"
    colors = set(counts)
    for color in (
        "#2e7d32",
        "#c62828",
        "#1565c0",
    ):  # the succeeded and failed bars, a batch's in-progress phase
        rgb = tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
        assert rgb in colors, f"no {color} in the screenshot: a chart is missing"

    text = " ".join(shown_text(chromium, page, tmp_path).split())
    summary = results.summary
    # The totals cards: five numbers, then their names.
    assert "40 38 2 0 4 requests succeeded failed missing resent" in text
    assert "succeeded 38 (95.0%) failed 2 (5.0%) missing 0 (0.0%)" in text
    assert "invalid_request_error 2 400 mini-10" in text
    tokens = summary["tokens"]
    assert (
        f"Prompt tokens {tokens['prompt']:,}, completion tokens {tokens['completion']:,}, total {tokens['total']:,}, as each batch reported it (its usage)."
        in text
    )
    mini = next(m for m in summary["cost"]["models"] if m["model"] == "gpt-4o-mini")
    assert f"gpt-4o-mini 28 {mini['prompt_tokens']:,} {mini['completion_tokens']:,} $0.075 / $0.30" in text
    assert f"{UNPRICED} 10" in text
    assert "unknown unknown" in text  # its price and its cost
    assert f"total {_usd(summary['cost']['known_usd'])} + unknown ({UNPRICED})" in text
    assert "round 2 part 1" in text
    for batch in summary["batches"]:
        assert batch["id"] in text


def test_the_tokens_are_the_servers_own_count_when_every_batch_reports_it(results: JobResults) -> None:
    # The emulator reports each batch's usage and model, as OpenAI does: the summary and deck use them.
    assert results.summary["tokens"]["source"] == "reported"
    assert "as each batch reported it" in render_deck(results.summary)


def test_without_every_batch_reporting_usage_the_tokens_are_counted_from_the_lines() -> None:
    from openai_batch_jobs.report.summary import SummaryBuilder, reported_usage

    batches = [
        {"model": "gpt-4o-mini", "usage": {"input_tokens": 10, "output_tokens": 5}},
        {"model": "gpt-4o-mini"},
    ]
    assert reported_usage([batches]) is None
    assert reported_usage([batches[:1], batches[:1]]) == {"gpt-4o-mini": (20, 10)}
    builder = SummaryBuilder()
    builder.add_columns(
        as_columns(
            [{"status": "succeeded", "model": "gpt-4o-mini", "prompt_tokens": 3, "completion_tokens": 2}]
        )
    )
    counted = builder.build([batches])
    assert (counted["tokens"]["prompt"], counted["tokens"]["source"]) == (3, "counted")
    assert "counted from the answers in the result files" in render_deck(counted)
    reported = builder.build([batches[:1]])
    assert (reported["tokens"]["prompt"], reported["tokens"]["completion"]) == (10, 5)
    assert reported["tokens"]["source"] == "reported"
