"""Weeks and days in a time zone (PRODUCT.md §2.4): pure functions, no clock of their own.

A week starts on Monday at 00:00 local time and is named by that Monday's date; it lasts
until the next Monday 00:00, which is 167 or 169 hours later across a DST change. Every
instant is an aware datetime (the injected clock gives UTC); callers pass the zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo

ONE_WEEK = timedelta(days=7)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("pass an aware datetime")
    return instant


def local_date(instant: datetime, tz: tzinfo) -> date:
    return _aware(instant).astimezone(tz).date()


def week_of(instant: datetime, tz: tzinfo) -> date:
    """The Monday (local date) of the week `instant` falls in."""
    day = local_date(instant, tz)
    return day - timedelta(days=day.weekday())


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """00:00 local on `day`, in UTC. Midnight exists in every zone we care about (DST
    changes happen at night but not at midnight in Europe); zoneinfo resolves a gap by
    shifting forward, which is still the first instant of that day."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def week_bounds(week: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of the week named by its Monday, in UTC."""
    if week.weekday() != 0:
        raise ValueError(f"{week} is not a Monday")
    return local_midnight(week, tz), local_midnight(week + ONE_WEEK, tz)


def day_bounds(instant: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of the local day `instant` falls in, in UTC."""
    day = local_date(instant, tz)
    return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)


def previous_week(week: date) -> date:
    return week - ONE_WEEK


def weeks_between(first: date, last: date) -> Iterator[date]:
    """Every Monday from the week of `first` to the week of `last`, both included."""
    week = monday_of(first)
    end = monday_of(last)
    while week <= end:
        yield week
        week += ONE_WEEK


def streak(weeks_with_actions: Iterable[date], current_week: date) -> int:
    """Consecutive weeks with at least one action, ending with the current week — or with
    last week while the current one has none yet (a streak only breaks once a whole week
    has gone by without an action)."""
    active = set(weeks_with_actions)
    week = current_week if current_week in active else previous_week(current_week)
    count = 0
    while week in active:
        count += 1
        week = previous_week(week)
    return count
