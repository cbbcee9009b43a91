"""The local run's polling schedule: soon after creating the batch, then backing off to minutes."""

from __future__ import annotations

import pytest

from flytekitplugins.openai.batch.local.poll import poll_delay


@pytest.mark.parametrize(
    ("elapsed", "delay"),
    [(0.0, 0.1), (0.5, 0.1), (10.0, 1.0), (60.0, 6.0), (600.0, 60.0), (3600.0, 300.0), (86400.0, 300.0)],
)
def test_polls_at_a_tenth_of_the_wait_so_far_between_a_tenth_of_a_second_and_five_minutes(
    elapsed: float, delay: float
) -> None:
    assert poll_delay(elapsed) == pytest.approx(delay)


def test_a_day_long_batch_costs_a_few_hundred_polls() -> None:
    elapsed, polls = 0.0, 0
    while elapsed < 24 * 3600:
        elapsed += poll_delay(elapsed)
        polls += 1
    assert 200 < polls < 500
