"""bot.core.weeks: week and day boundaries in a time zone, and streaks (pure, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.weeks import day_bounds, local_midnight, streak, week_bounds, week_of, weeks_between

PARIS = ZoneInfo("Europe/Paris")


def paris(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=PARIS)


def test_sunday_2359_and_monday_0000_are_in_different_weeks() -> None:
    assert week_of(paris(2026, 1, 11, 23, 59, 59), PARIS) == date(2026, 1, 5)
    assert week_of(paris(2026, 1, 12, 0, 0), PARIS) == date(2026, 1, 12)


def test_the_week_is_local_not_utc() -> None:
    # Monday 00:30 in Paris is still Sunday 23:30 UTC: it belongs to the new week.
    instant = datetime(2026, 1, 11, 23, 30, tzinfo=UTC)
    assert week_of(instant, PARIS) == date(2026, 1, 12)
    assert week_of(instant, UTC) == date(2026, 1, 5)


def test_week_across_the_spring_dst_change_is_167_hours() -> None:
    # Clocks go forward on Sunday 29 March 2026 at 02:00 in Paris.
    start, end = week_bounds(date(2026, 3, 23), PARIS)
    assert start == datetime(2026, 3, 22, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=167)
    # The last minute before the change and the first after are the same week.
    assert week_of(datetime(2026, 3, 29, 0, 59, tzinfo=UTC), PARIS) == date(2026, 3, 23)
    assert week_of(datetime(2026, 3, 29, 1, 0, tzinfo=UTC), PARIS) == date(2026, 3, 23)
    # Sunday 23:59 summer time is 21:59 UTC: still that week; 22:00 UTC is Monday.
    assert week_of(datetime(2026, 3, 29, 21, 59, tzinfo=UTC), PARIS) == date(2026, 3, 23)
    assert week_of(datetime(2026, 3, 29, 22, 0, tzinfo=UTC), PARIS) == date(2026, 3, 30)


def test_week_across_the_autumn_dst_change_is_169_hours() -> None:
    # Clocks go back on Sunday 25 October 2026 at 03:00 in Paris.
    start, end = week_bounds(date(2026, 10, 19), PARIS)
    assert end - start == timedelta(hours=169)
    assert end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    assert week_of(datetime(2026, 10, 25, 22, 59, tzinfo=UTC), PARIS) == date(2026, 10, 19)
    assert week_of(datetime(2026, 10, 25, 23, 0, tzinfo=UTC), PARIS) == date(2026, 10, 26)


def test_day_bounds_follow_dst() -> None:
    start, end = day_bounds(datetime(2026, 3, 29, 12, 0, tzinfo=UTC), PARIS)
    assert end - start == timedelta(hours=23)
    start, end = day_bounds(datetime(2026, 10, 25, 12, 0, tzinfo=UTC), PARIS)
    assert end - start == timedelta(hours=25)
    assert local_midnight(date(2026, 10, 26), PARIS) == end


def test_week_bounds_needs_a_monday_and_aware_datetimes() -> None:
    with pytest.raises(ValueError, match="Monday"):
        week_bounds(date(2026, 1, 6), PARIS)
    with pytest.raises(ValueError, match="aware"):
        week_of(datetime(2026, 1, 6), PARIS)


def test_weeks_between() -> None:
    weeks = list(weeks_between(date(2026, 1, 7), date(2026, 1, 26)))
    assert weeks == [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19), date(2026, 1, 26)]


@pytest.mark.parametrize(
    ("weeks", "expected"),
    [
        ([], 0),
        (["2026-01-12"], 1),
        (["2026-01-12", "2026-01-05", "2025-12-29"], 3),
        # Nothing yet this week: the streak still stands on last week.
        (["2026-01-05", "2025-12-29"], 2),
        # A gap breaks it.
        (["2026-01-12", "2025-12-29"], 1),
        # Two weeks without anything: over.
        (["2025-12-29"], 0),
    ],
)
def test_streak(weeks: list[str], expected: int) -> None:
    current = date(2026, 1, 12)
    assert streak((date.fromisoformat(w) for w in weeks), current) == expected
