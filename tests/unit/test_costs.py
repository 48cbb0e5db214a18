"""The cost arithmetic of notebook 07 and docs/instructors.md."""

from __future__ import annotations

import pytest

from tutorial_lib.domain import costs


def test_always_on_is_the_blogs_month_of_one_node():
    table = costs.monthly(2)
    always = table.iloc[0]
    assert always["billed hours"] == 730
    assert always["USD per month"] == pytest.approx(730 * costs.G6_XLARGE_PER_HOUR)


def test_scale_to_zero_bills_the_hours_used_plus_startup_and_idle_tail():
    table = costs.monthly(2, days_per_month=20)
    zero = table.iloc[1]
    margins = costs.STARTUP_HOURS + costs.IDLE_TAIL_HOURS
    assert zero["billed hours"] == pytest.approx(20 * (2 + margins), abs=0.05)
    assert zero["saving"] > 0


def test_scale_to_zero_never_bills_more_than_the_month():
    assert costs.monthly(24, days_per_month=31)["billed hours"].iloc[1] == 730


def test_a_workshop_pays_each_attendees_node_for_the_session_and_its_margins():
    per_attendee = (3 + costs.STARTUP_HOURS + costs.IDLE_TAIL_HOURS) * costs.G6_XLARGE_PER_HOUR
    assert costs.workshop(1, 3) == pytest.approx(per_attendee, abs=0.01)
    assert costs.workshop(20, 3) == pytest.approx(20 * per_attendee)
    assert costs.workshop(20, 3, per_hour=0.8048) > costs.workshop(20, 3)
