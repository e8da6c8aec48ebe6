"""The time zone helper: local wall-clock times to UTC and back, across daylight saving changes."""

from __future__ import annotations

import datetime as dt

import pytest

from calibration.services import timezones
from calibration.services.timezones import LocalTimeProblem


def test_summer_and_winter_times_in_london_store_the_right_utc_instant():
    assert timezones.to_utc(dt.date(2026, 7, 1), dt.time(14, 0), "Europe/London") == dt.datetime(
        2026, 7, 1, 13, 0, tzinfo=dt.UTC
    )
    assert timezones.to_utc(dt.date(2026, 12, 1), dt.time(14, 0), "Europe/London") == dt.datetime(
        2026, 12, 1, 14, 0, tzinfo=dt.UTC
    )


def test_a_window_across_a_dst_change_keeps_each_end_in_its_own_offset():
    # New York springs forward on 8 March 2026: the opening is EST (-5), the closing EDT (-4).
    opens = timezones.to_utc(dt.date(2026, 3, 1), dt.time(9, 0), "America/New_York")
    closes = timezones.to_utc(dt.date(2026, 3, 15), dt.time(9, 0), "America/New_York")
    assert opens == dt.datetime(2026, 3, 1, 14, 0, tzinfo=dt.UTC)
    assert closes == dt.datetime(2026, 3, 15, 13, 0, tzinfo=dt.UTC)
    assert closes - opens == dt.timedelta(days=14) - dt.timedelta(hours=1)


def test_a_time_in_the_spring_forward_gap_is_refused_with_a_plain_message():
    with pytest.raises(LocalTimeProblem) as caught:
        timezones.to_utc(dt.date(2026, 3, 8), dt.time(2, 30), "America/New_York")
    assert "02:30 on 8 March 2026 does not exist in America/New_York" in str(caught.value)
    assert "clocks go forward" in str(caught.value)


def test_a_time_in_the_fall_back_overlap_is_refused_with_a_plain_message():
    with pytest.raises(LocalTimeProblem) as caught:
        timezones.to_utc(dt.date(2026, 10, 25), dt.time(1, 30), "Europe/London")
    assert "01:30 on 25 October 2026 happens twice in Europe/London" in str(caught.value)
    assert "clocks go back" in str(caught.value)


def test_the_minutes_either_side_of_a_change_are_accepted():
    # Auckland goes back from 03:00 NZDT to 02:00 NZST on 5 April 2026.
    before = timezones.to_utc(dt.date(2026, 4, 5), dt.time(1, 59), "Pacific/Auckland")
    after = timezones.to_utc(dt.date(2026, 4, 5), dt.time(3, 0), "Pacific/Auckland")
    assert before == dt.datetime(2026, 4, 4, 12, 59, tzinfo=dt.UTC)
    assert after == dt.datetime(2026, 4, 4, 15, 0, tzinfo=dt.UTC)
    with pytest.raises(LocalTimeProblem):
        timezones.to_utc(dt.date(2026, 4, 5), dt.time(2, 0), "Pacific/Auckland")


@pytest.mark.parametrize("zone_name", ["Europe/London", "America/New_York", "Pacific/Auckland", "UTC"])
def test_every_quarter_hour_of_a_year_round_trips_or_is_refused(zone_name):
    start = dt.datetime(2026, 1, 1)
    refused = 0
    for step in range(365 * 24 * 4):  # every quarter hour of 2026
        wall = start + dt.timedelta(minutes=15 * step)
        try:
            utc = timezones.to_utc(wall.date(), wall.time(), zone_name)
        except LocalTimeProblem:
            refused += 1
            continue
        day, time = timezones.split_local(utc, zone_name)
        assert dt.datetime.combine(day, time) == wall
    # Each DST zone skips one hour and repeats one hour a year: 4 + 4 quarter hours refused.
    assert refused == (0 if zone_name == "UTC" else 8)


def test_unknown_zone_names_are_refused_and_shown_as_utc():
    assert timezones.check_zone("Europe/Londn") is None
    assert timezones.check_zone("") is None
    assert timezones.check_zone(" Europe/London ") is not None
    assert "“Mars/Olympus” is not a time zone name we know" in (timezones.zone_problem("Mars/Olympus") or "")
    assert timezones.zone_problem("America/New_York") is None
    with pytest.raises(LocalTimeProblem, match="not a time zone name"):
        timezones.to_utc(dt.date(2026, 1, 1), dt.time(9, 0), "Nowhere/City")
    assert (
        timezones.format_when(dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC), "Nowhere/City")
        == "1 Jan 2026 09:00 UTC"
    )


def test_times_are_shown_with_their_zone_named():
    summer = dt.datetime(2026, 7, 1, 13, 0, tzinfo=dt.UTC)
    assert timezones.format_when(summer, "Europe/London") == "1 Jul 2026 14:00 BST"
    assert timezones.format_when(summer, "America/New_York", "%Y-%m-%d") == "2026-07-01 09:00 EDT"
    # A zone whose abbreviation is only an offset is named in full.
    assert timezones.format_when(summer, "America/Sao_Paulo", "") == "10:00 (America/Sao_Paulo)"
    # The local date can differ from the UTC one.
    assert timezones.format_day(summer.replace(hour=20), "Pacific/Auckland") == "2 Jul 2026"
    with pytest.raises(ValueError):
        timezones.to_local(dt.datetime(2026, 1, 1), "UTC")
