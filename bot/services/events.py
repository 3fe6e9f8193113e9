"""Events near me (issue #15, PRODUCT.md §2.9): proposing and publishing events, finding
them near a place, answering (going / maybe / not going) with a capacity and a waiting
list, reminders, changes and cancellations, check-ins that log the event's eco-action,
attendance, recurrence, and what /forget does to them. Pure domain logic: no Telegram.

Taking a place is one conditional UPDATE (the event published and not over, a place
left, the person not already going), whose row count says whether the place was taken;
the answer row follows in the same transaction, and a unique constraint backs "one
answer per person and event". Nothing is read first and written after, so fifty people
racing for the last place cannot both get it, on SQLite (one writer at a time) or
PostgreSQL (the row lock re-checks the condition). A place given back goes first to the
waiting list, in the order people joined it, inside the transaction that freed it (which
holds the event's row, so nobody else takes the place in between).

What must reach someone other than the person acting (the organiser told the event is
full, a promoted person, attendees of a changed event, a team group...) is returned as
`Notice`s, which the caller queues (bot/ui/notices/events.py) in the same transaction.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import actions, contests, drafts, nudges, offers
from bot.services.catalogue import default_catalogue
from bot.services.geo.distance import Origin, cap_boxes
from bot.services.geo.geocoding import validate_coordinates
from bot.services.nudges import NudgeKind
from bot.services.users import is_organiser, require_organiser
from models import (
    ActionProfile,
    CheckinMethod,
    Contest,
    ContestStatus,
    Event,
    EventCategory,
    EventCheckin,
    EventRsvp,
    EventStatus,
    OutboxMessage,
    OutboxStatus,
    Recurrence,
    RejectionReason,
    RsvpStatus,
    Team,
    User,
)

TITLE_LIMIT = 80
DESCRIPTION_LIMIT = 1000
ADDRESS_LIMIT = 300
CAPACITY_MAX = 10_000
# An event starts at least this long after it is written down, and within a year.
MIN_AHEAD = timedelta(minutes=30)
MAX_AHEAD = timedelta(days=365)
MAX_DURATION = timedelta(days=7)
DURATIONS_HOURS = (1, 2, 3, 4)
SEARCH_RADIUS_KM = 30.0
LIST_DAYS = 60
# A resident or maker may have this many proposals waiting for moderation at once.
MAX_PENDING = 3
# Reminders: the day before at this local time (the event's zone), and this long before.
DAY_BEFORE_AT = time(18, 0)
SOON_BEFORE = timedelta(hours=2)
# The check-in QR code works from a little before the start to a while after the end;
# the organiser's button stays open this long.
CHECKIN_EARLY = timedelta(hours=1)
CHECKIN_LATE = timedelta(hours=2)
CHECKIN_BUTTON_OPEN = timedelta(hours=1)
# A team group hears of at most this many events a day (like its weekly recap, it is not
# to be flooded); more are announced on the next days, at this local time.
GROUP_ANNOUNCEMENTS_PER_DAY = 2
ANNOUNCE_AT = time(9, 0)
ANNOUNCE_KIND = "event.announce"
# The week's presets of the wizard (local times).
TOMORROW_AT = time(18, 0)
SATURDAY_AT = time(10, 0)
SUNDAY_AT = time(14, 0)

_HOUR = r"(?P<hour>\d{1,2})\s*[:hH.]\s*(?P<minute>\d{2})"
_TIME_ONLY = re.compile(rf"^{_HOUR}$")
_DAY_AND_TIME = re.compile(
    rf"^(?P<day>\d{{1,2}})\s*/\s*(?P<month>\d{{1,2}})(?:\s*/\s*(?P<year>\d{{4}}))?\s+{_HOUR}$"
)
_NUMBER = re.compile(r"^\d{1,12}$")


class EventFieldError(ValueError):
    """A wizard answer was refused; `code` names why (a locale key suffix)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class EventNotFoundError(LookupError):
    """No such event, or not one this person may see or change."""


class EventClosedError(ValueError):
    """The event is not published, was cancelled, or is over."""


class CheckinError(ValueError):
    """No check-in now; `code` says why (too_early, too_late, closed, not_answered)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class AlreadyCheckedInError(ValueError):
    pass


class AlreadyReviewedError(ValueError):
    """A proposal an organiser already approved or rejected."""


class Answer(StrEnum):
    """What a person can answer (the waiting list is where "going" leads when full)."""

    GOING = RsvpStatus.GOING.value
    MAYBE = RsvpStatus.MAYBE.value
    NOT_GOING = RsvpStatus.NOT_GOING.value


class Window(StrEnum):
    UPCOMING = "all"
    WEEK = "week"
    WEEKEND = "weekend"


class StartPreset(StrEnum):
    TOMORROW = "tomorrow"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


class NoticeKind(StrEnum):
    FULL = "full"
    PROMOTED = "promoted"
    REMINDER_DAY = "reminder_day"
    REMINDER_SOON = "reminder_soon"
    CHANGED = "changed"
    CANCELLED = "cancelled"
    APPROVED = "approved"
    REJECTED = "rejected"
    ANNOUNCED = "announced"
    CHECKIN_OPEN = "checkin_open"


# The notices that are reminders (quiet hours, the person's switch).
REMINDERS = frozenset({NoticeKind.REMINDER_DAY, NoticeKind.REMINDER_SOON})


@dataclass(frozen=True, slots=True)
class Notice:
    """A message for someone other than the person acting, rendered later in their own
    language (bot/ui/notices/events.py) from the event and `params`. `key` makes queuing
    the same notice twice one message; `not_before` defers it (quiet hours, a group's
    daily share of announcements)."""

    chat_id: int
    kind: NoticeKind
    key: str
    event_id: int
    params: dict[str, str | int] = field(default_factory=dict)
    not_before: datetime | None = None


def zone_named(name: str | None, default: str = "UTC") -> ZoneInfo:
    for candidate in (name, default, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")  # pragma: no cover - UTC always exists


def zone_of(event: Event) -> ZoneInfo:
    return zone_named(event.timezone)


def key_prefix(event_id: int, kind: str = "") -> str:
    """What the outbox keys of an event's notices (of one kind) start with."""
    return f"event:{event_id}:{kind}"


# ----------------------------------------------------------------------------- fields


def clean_title(raw: str) -> str:
    title = " ".join(raw.split())
    if not title:
        raise EventFieldError("empty")
    if len(title) > TITLE_LIMIT:
        raise EventFieldError("too_long")
    if not any(char.isalnum() for char in title):
        raise EventFieldError("no_letters")
    return title


def clean_description(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise EventFieldError("empty")
    if len(value) > DESCRIPTION_LIMIT:
        raise EventFieldError("too_long")
    return value


def clean_category(raw: str) -> EventCategory:
    try:
        return EventCategory(raw)
    except ValueError:
        raise EventFieldError("bad_category") from None


def check_start(start: datetime, now: datetime) -> datetime:
    if start <= now:
        raise EventFieldError("past")
    if start < now + MIN_AHEAD:
        raise EventFieldError("too_soon")
    if start > now + MAX_AHEAD:
        raise EventFieldError("too_far")
    return start


def check_end(start: datetime, end: datetime) -> datetime:
    if end <= start:
        raise EventFieldError("end_before_start")
    if end - start > MAX_DURATION:
        raise EventFieldError("too_long_event")
    return end


def _local(day: date, moment: time, zone: tzinfo) -> datetime:
    """A local wall-clock time as an aware instant (a time in a DST gap moves forward)."""
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def parse_start(raw: str, now: datetime, zone: tzinfo) -> datetime:
    """ "DD/MM HH:MM" or "DD/MM/YYYY HH:MM", in the organiser's zone; at least half an
    hour ahead and within a year. A day and month already past this year mean next year."""
    text = " ".join(raw.split())
    match = _DAY_AND_TIME.match(text)
    if match is None:
        raise EventFieldError("bad_time")
    local = now.astimezone(zone)
    try:
        moment = time(int(match["hour"]), int(match["minute"]))
        year = int(match["year"]) if match["year"] else local.year
        day = date(year, int(match["month"]), int(match["day"]))
        if not match["year"] and day < local.date():
            day = date(year + 1, day.month, day.day)
    except ValueError:
        raise EventFieldError("bad_time") from None
    return check_start(_local(day, moment, zone), now)


def preset_start(preset: StartPreset, now: datetime, zone: tzinfo) -> datetime:
    today = now.astimezone(zone).date()
    if preset is StartPreset.TOMORROW:
        day, moment = today + timedelta(days=1), TOMORROW_AT
    else:
        weekday = 5 if preset is StartPreset.SATURDAY else 6
        ahead = (weekday - today.weekday()) % 7 or 7
        day = today + timedelta(days=ahead)
        moment = SATURDAY_AT if preset is StartPreset.SATURDAY else SUNDAY_AT
    return check_start(_local(day, moment, zone), now)


def parse_end(raw: str, start: datetime, zone: tzinfo) -> datetime:
    """ "HH:MM" (the start's day, or the next one for a time before the start) or
    "DD/MM HH:MM"."""
    text = " ".join(raw.split())
    local_start = start.astimezone(zone)
    try:
        if match := _TIME_ONLY.match(text):
            moment = time(int(match["hour"]), int(match["minute"]))
            end = _local(local_start.date(), moment, zone)
            if end <= start:
                end = _local(local_start.date() + timedelta(days=1), moment, zone)
        elif match := _DAY_AND_TIME.match(text):
            moment = time(int(match["hour"]), int(match["minute"]))
            year = int(match["year"]) if match["year"] else local_start.year
            day = date(year, int(match["month"]), int(match["day"]))
            if not match["year"] and day < local_start.date():
                day = date(year + 1, day.month, day.day)
            end = _local(day, moment, zone)
        else:
            raise EventFieldError("bad_time")
    except ValueError as error:
        if isinstance(error, EventFieldError):
            raise
        raise EventFieldError("bad_time") from None
    return check_end(start, end)


def duration_end(start: datetime, hours: int) -> datetime:
    if hours not in DURATIONS_HOURS:
        raise EventFieldError("bad_time")
    return check_end(start, start + timedelta(hours=hours))


def parse_capacity(raw: str) -> int:
    value = raw.strip()
    if not _NUMBER.match(value):
        raise EventFieldError("bad_capacity")
    capacity = int(value)
    if not 1 <= capacity <= CAPACITY_MAX:
        raise EventFieldError("bad_capacity")
    return capacity


def check_action(slug: str | None) -> str | None:
    if slug is None:
        return None
    if default_catalogue().by_slug(slug) is None:
        raise EventFieldError("bad_action")
    return slug


# ----------------------------------------------------------------------------- recurrence


def next_start(start: datetime, recurrence: Recurrence, zone: tzinfo) -> datetime:
    """The next occurrence's start, at the same local time: a week later, or on the same
    weekday of the next month ("2nd Saturday"; the last one when the month has no 5th)."""
    local = start.astimezone(zone)
    if recurrence is Recurrence.WEEKLY:
        day = local.date() + timedelta(days=7)
    elif recurrence is Recurrence.MONTHLY:
        rank = (local.day - 1) // 7  # 0 for the first such weekday of the month
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        first = date(year, month, 1)
        day = first + timedelta(days=(local.weekday() - first.weekday()) % 7 + 7 * rank)
        if day.month != month:
            day -= timedelta(days=7)
    else:
        raise ValueError("a single event has no next occurrence")
    return _local(day, local.time().replace(tzinfo=None), zone)


# ----------------------------------------------------------------------------- drafts


@dataclass(slots=True)
class EventDraft:
    """What /newevent collects, step by step (kept in the conversation's state)."""

    title: str = ""
    description: str = ""
    category: str = EventCategory.OTHER.value
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    address: str = ""
    maker_id: int | None = None
    capacity: int | None = None
    photo_file_id: str | None = None
    action_slug: str | None = None
    contest_id: int | None = None
    team_id: int | None = None
    recurrence: str = Recurrence.NONE.value

    def to_state(self) -> dict[str, object]:
        return drafts.to_state(self)

    @classmethod
    def from_state(cls, data: dict[str, object]) -> EventDraft:
        return drafts.from_state(cls, data)


def _new_code() -> int:
    # Twelve digits: `/start checkin_<code>` fits a deep link, and guessing one is hopeless.
    return 10**11 + secrets.randbelow(9 * 10**11)


async def open_contests(session: AsyncSession, limit: int = 8) -> list[Contest]:
    """The contests an organiser can make an event for, newest first."""
    rows = await session.scalars(
        select(Contest)
        .where(Contest.status == ContestStatus.OPEN)
        .order_by(Contest.id.desc())
        .limit(limit)
    )
    return list(rows.all())


async def check_scope(
    session: AsyncSession, contest_id: int | None, team_id: int | None
) -> tuple[int | None, int | None]:
    """An open contest, and optionally one of its teams."""
    if contest_id is None:
        if team_id is not None:
            raise EventFieldError("bad_scope")
        return None, None
    contest = await session.get(Contest, contest_id)
    if contest is None or contest.status != ContestStatus.OPEN:
        raise EventFieldError("bad_scope")
    if team_id is not None:
        team = await session.get(Team, team_id)
        if team is None or team.contest_id != contest_id:
            raise EventFieldError("bad_scope")
    return contest_id, team_id


async def create_event(
    session: AsyncSession,
    user_id: int,
    draft: EventDraft,
    now: datetime,
    organiser_ids: Iterable[int],
    timezone: str,
) -> tuple[Event, list[Notice]]:
    """An organiser's event is published at once (and announced in its team groups); a
    resident's or maker's waits in /moderation. Every field is checked again: the draft
    came through the conversation's storage."""
    organiser = await is_organiser(session, user_id, organiser_ids)
    title = clean_title(draft.title)
    description = clean_description(draft.description)
    category = clean_category(draft.category)
    if draft.starts_at is None or draft.ends_at is None:
        raise EventFieldError("bad_time")
    starts_at = check_start(draft.starts_at, now)
    ends_at = check_end(starts_at, draft.ends_at)
    if draft.capacity is not None and not 1 <= draft.capacity <= CAPACITY_MAX:
        raise EventFieldError("bad_capacity")
    action_slug = check_action(draft.action_slug)
    try:
        recurrence = Recurrence(draft.recurrence)
    except ValueError:
        raise EventFieldError("bad_recurrence") from None
    if (draft.contest_id is not None or draft.team_id is not None) and not organiser:
        raise EventFieldError("bad_scope")
    contest_id, team_id = await check_scope(session, draft.contest_id, draft.team_id)
    maker_id = None
    if draft.maker_id is not None:
        maker = await offers.own_approved_maker(session, user_id)
        if maker is None or maker.id != draft.maker_id:
            raise EventFieldError("bad_location")
        maker_id = maker.id
        latitude, longitude = maker.latitude, maker.longitude
        address = offers.maker_address(maker)
    else:
        if (
            draft.latitude is None
            or draft.longitude is None
            or not validate_coordinates(draft.latitude, draft.longitude)
        ):
            raise EventFieldError("bad_location")
        latitude, longitude = round(draft.latitude, 7), round(draft.longitude, 7)
        address = draft.address[:ADDRESS_LIMIT]
    if not organiser:
        pending = await session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.organiser_id == user_id, Event.status == EventStatus.PENDING.value)
        )
        if int(pending or 0) >= MAX_PENDING:
            raise EventFieldError("too_many_pending")
    event = Event(
        title=title,
        description=description,
        category=category.value,
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=timezone,
        latitude=latitude,
        longitude=longitude,
        address=address,
        maker_id=maker_id,
        capacity=draft.capacity,
        seats_taken=0,
        photo_file_id=draft.photo_file_id,
        action_slug=action_slug,
        contest_id=contest_id,
        team_id=team_id,
        recurrence=recurrence.value,
        organiser_id=user_id,
        status=(EventStatus.PUBLISHED if organiser else EventStatus.PENDING).value,
        revision=0,
        created_at=now,
        checkin_code=_new_code(),
    )
    session.add(event)
    await session.flush()
    event.series_id = event.id
    await session.flush()
    notices = await announcements(session, event, now) if organiser else []
    return event, notices


# ----------------------------------------------------------------------------- reading


async def get_event(session: AsyncSession, event_id: int) -> Event:
    """A published, cancelled or past event (a card says which); proposals and rejected
    ones are only for their author and the organisers (`event_for`)."""
    event = await session.get(Event, event_id, populate_existing=True)
    if event is None or event.status not in (
        EventStatus.PUBLISHED.value,
        EventStatus.CANCELLED.value,
    ):
        raise EventNotFoundError(event_id)
    return event


async def event_for(
    session: AsyncSession, event_id: int, viewer_id: int, organiser_ids: Iterable[int]
) -> Event:
    """Any event its organiser or an organiser may look at, else a public one."""
    event = await session.get(Event, event_id, populate_existing=True)
    if event is None:
        raise EventNotFoundError(event_id)
    if event.organiser_id == viewer_id or await is_organiser(session, viewer_id, organiser_ids):
        return event
    return await get_event(session, event_id)


def is_open(event: Event, now: datetime) -> bool:
    """People can still answer: published and not over."""
    return event.status == EventStatus.PUBLISHED.value and event.ends_at > now


def places_left(event: Event) -> int | None:
    return None if event.capacity is None else max(0, event.capacity - event.seats_taken)


@dataclass(frozen=True, slots=True)
class Counts:
    going: int = 0
    maybe: int = 0
    waiting: int = 0
    checked_in: int = 0


async def counts_of(session: AsyncSession, event_ids: Sequence[int]) -> dict[int, Counts]:
    if not event_ids:
        return {}
    answers: dict[int, dict[str, int]] = {}
    rows = await session.execute(
        select(EventRsvp.event_id, EventRsvp.status, func.count())
        .where(EventRsvp.event_id.in_(event_ids))
        .group_by(EventRsvp.event_id, EventRsvp.status)
    )
    for event_id, status, count in rows.all():
        answers.setdefault(event_id, {})[status] = int(count)
    checked_rows = await session.execute(
        select(EventCheckin.event_id, func.count())
        .where(EventCheckin.event_id.in_(event_ids))
        .group_by(EventCheckin.event_id)
    )
    checked = {event_id: int(count) for event_id, count in checked_rows.all()}
    return {
        event_id: Counts(
            going=answers.get(event_id, {}).get(RsvpStatus.GOING.value, 0),
            maybe=answers.get(event_id, {}).get(RsvpStatus.MAYBE.value, 0),
            waiting=answers.get(event_id, {}).get(RsvpStatus.WAITING.value, 0),
            checked_in=int(checked.get(event_id, 0)),
        )
        for event_id in event_ids
    }


async def answer_of(session: AsyncSession, event_id: int, user_id: int) -> RsvpStatus | None:
    status = await session.scalar(
        select(EventRsvp.status).where(EventRsvp.event_id == event_id, EventRsvp.user_id == user_id)
    )
    return RsvpStatus(status) if status else None


async def waiting_position(session: AsyncSession, event_id: int, user_id: int) -> int | None:
    """1 for the first in line; None when the person is not waiting."""
    row = await _rsvp(session, event_id, user_id)
    if row is None or row.status != RsvpStatus.WAITING.value:
        return None
    ahead = await session.scalar(
        select(func.count())
        .select_from(EventRsvp)
        .where(
            EventRsvp.event_id == event_id,
            EventRsvp.status == RsvpStatus.WAITING.value,
            or_(
                EventRsvp.responded_at < row.responded_at,
                and_(EventRsvp.responded_at == row.responded_at, EventRsvp.id < row.id),
            ),
        )
    )
    return int(ahead or 0) + 1


# ----------------------------------------------------------------------------- finding


@dataclass(frozen=True, slots=True)
class NearbyEvent:
    event: Event
    distance_km: float


@dataclass(frozen=True, slots=True)
class EventsPage:
    events: list[NearbyEvent]
    offset: int
    has_more: bool


def window_bounds(window: Window, now: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of what a filter shows, in the viewer's zone: the rest of this week
    (to Monday 00:00), this weekend (Saturday 00:00, or now, to Monday 00:00), or the
    next LIST_DAYS days."""
    today = now.astimezone(zone).date()
    monday = today + timedelta(days=7 - today.weekday())
    if window is Window.WEEK:
        return now, _local(monday, time(0), zone)
    if window is Window.WEEKEND:
        saturday = monday - timedelta(days=2)
        return max(now, _local(saturday, time(0), zone)), _local(monday, time(0), zone)
    return now, now + timedelta(days=LIST_DAYS)


async def _visible(session: AsyncSession, viewer_id: int | None) -> ColumnElement[bool]:
    """Events for everyone, and campus events of the viewer's contests and teams."""
    memberships = await contests.member_teams(session, viewer_id) if viewer_id else []
    contest_ids = sorted({m.contest.id for m in memberships})
    team_ids = sorted({m.team.id for m in memberships})
    return or_(
        Event.contest_id.is_(None),
        and_(Event.team_id.is_(None), Event.contest_id.in_(contest_ids)),
        Event.team_id.in_(team_ids),
    )


async def upcoming_near(
    session: AsyncSession,
    latitude: float,
    longitude: float,
    now: datetime,
    zone: tzinfo,
    *,
    viewer_id: int | None,
    window: Window = Window.UPCOMING,
    limit: int,
    offset: int = 0,
    radius_km: float = SEARCH_RADIUS_KM,
) -> EventsPage:
    """Published events not over yet within `radius_km` and the window: day by day (the
    soonest first), the nearest first within a day. Upcoming events near one place are a
    few dozen at most: the box of the search circle is read whole and ranked here."""
    if not validate_coordinates(latitude, longitude):
        raise ValueError("impossible coordinates")
    start, end = window_bounds(window, now, zone)
    origin = Origin.at(latitude, longitude)
    in_boxes = or_(
        *(
            and_(
                Event.latitude.between(box.min_lat, box.max_lat),
                Event.longitude.between(box.min_lon, box.max_lon),
            )
            for box in cap_boxes(latitude, longitude, radius_km)
        )
    )
    rows = await session.scalars(
        select(Event).where(
            Event.status == EventStatus.PUBLISHED.value,
            Event.ends_at > start,
            Event.starts_at < end,
            in_boxes,
            await _visible(session, viewer_id),
        )
    )
    ranked = sorted(
        (
            (
                max(event.starts_at, now).astimezone(zone).date(),
                distance,
                event.starts_at,
                event.id,
                event,
            )
            for event in rows
            if (distance := origin.distance_km(event.latitude, event.longitude)) <= radius_km
        ),
        key=lambda item: item[:4],
    )
    offset = max(0, offset)
    page = [NearbyEvent(item[4], item[1]) for item in ranked[offset : offset + limit]]
    return EventsPage(page, offset, len(ranked) > offset + limit)


async def events_for_chat(
    session: AsyncSession, chat_id: int, now: datetime, limit: int = 10
) -> list[Event] | None:
    """The upcoming events of a team group's teams and contests, soonest first; None when
    the chat is no team of an open contest."""
    memberships = await contests.teams_of_chat(session, chat_id)
    if not memberships:
        return None
    contest_ids = sorted({m.contest.id for m in memberships})
    team_ids = sorted({m.team.id for m in memberships})
    rows = await session.scalars(
        select(Event)
        .where(
            Event.status == EventStatus.PUBLISHED.value,
            Event.ends_at > now,
            or_(
                Event.team_id.in_(team_ids),
                and_(Event.team_id.is_(None), Event.contest_id.in_(contest_ids)),
            ),
        )
        .order_by(Event.starts_at, Event.id)
        .limit(limit)
    )
    return list(rows.all())


@dataclass(frozen=True, slots=True)
class AgendaEntry:
    event: Event
    status: RsvpStatus


async def agenda(
    session: AsyncSession, user_id: int, now: datetime, limit: int = 20
) -> list[AgendaEntry]:
    """The person's answered events not over yet (going, maybe, waiting), soonest first."""
    rows = await session.execute(
        select(EventRsvp.status, Event)
        .join(Event, Event.id == EventRsvp.event_id)
        .where(
            EventRsvp.user_id == user_id,
            EventRsvp.status != RsvpStatus.NOT_GOING.value,
            Event.status == EventStatus.PUBLISHED.value,
            Event.ends_at > now,
        )
        .order_by(Event.starts_at, Event.id)
        .limit(limit)
    )
    return [AgendaEntry(event, RsvpStatus(status)) for status, event in rows.all()]


async def organised_by(
    session: AsyncSession, user_id: int, now: datetime, limit: int = 10
) -> list[Event]:
    """The person's own events still of interest: proposals, and events not over more
    than a day ago (attendance is read after the event), soonest first."""
    rows = await session.scalars(
        select(Event)
        .where(
            Event.organiser_id == user_id,
            Event.status.in_([EventStatus.PENDING.value, EventStatus.PUBLISHED.value]),
            Event.ends_at > now - timedelta(days=1),
        )
        .order_by(Event.starts_at, Event.id)
        .limit(limit)
    )
    return list(rows.all())


# ----------------------------------------------------------------------------- answering


@dataclass(frozen=True, slots=True)
class Answered:
    event: Event
    status: RsvpStatus
    # On the waiting list: 1 for the first in line.
    position: int | None
    # False when the person had already answered that.
    changed: bool
    notices: list[Notice]


async def _rsvp(session: AsyncSession, event_id: int, user_id: int) -> EventRsvp | None:
    return await session.scalar(
        select(EventRsvp)
        .where(EventRsvp.event_id == event_id, EventRsvp.user_id == user_id)
        .execution_options(populate_existing=True)
    )


async def _take_place(session: AsyncSession, event_id: int, user_id: int, now: datetime) -> bool:
    """One conditional UPDATE: True if a place was taken for the person."""
    going = exists().where(
        EventRsvp.event_id == event_id,
        EventRsvp.user_id == user_id,
        EventRsvp.status == RsvpStatus.GOING.value,
    )
    taken = await session.execute(
        update(Event)
        .where(
            Event.id == event_id,
            Event.status == EventStatus.PUBLISHED.value,
            Event.ends_at > now,
            or_(Event.capacity.is_(None), Event.seats_taken < Event.capacity),
            ~going,
        )
        .values(seats_taken=Event.seats_taken + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


async def _give_back_place(session: AsyncSession, event_id: int) -> None:
    await session.execute(
        update(Event)
        .where(Event.id == event_id, Event.seats_taken > 0)
        .values(seats_taken=Event.seats_taken - 1)
        .execution_options(synchronize_session=False)
    )


async def _set_answer(
    session: AsyncSession,
    event_id: int,
    user_id: int,
    status: RsvpStatus,
    now: datetime,
    row: EventRsvp | None,
) -> EventRsvp:
    if row is None:
        row = EventRsvp(event_id=event_id, user_id=user_id, status=status.value, responded_at=now)
        session.add(row)
    else:
        row.status = status.value
        row.responded_at = now
    await session.flush()
    return row


async def _leave_place(
    session: AsyncSession, row_id: int, status: RsvpStatus, now: datetime
) -> bool:
    """GOING -> `status`, once (a repeated or stale button changes nothing)."""
    result = await session.execute(
        update(EventRsvp)
        .where(EventRsvp.id == row_id, EventRsvp.status == RsvpStatus.GOING.value)
        .values(status=status.value, responded_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _full_notice(session: AsyncSession, event: Event) -> list[Notice]:
    """The organiser hears once that the last place was taken."""
    if event.capacity is None or event.seats_taken < event.capacity:
        return []
    if event.organiser_id is None:
        return []
    return [
        Notice(
            chat_id=event.organiser_id,
            kind=NoticeKind.FULL,
            key=f"{key_prefix(event.id, 'full')}",
            event_id=event.id,
            params={"capacity": event.capacity},
        )
    ]


async def _promote(session: AsyncSession, event_id: int, now: datetime) -> list[Notice]:
    """Give free places to the waiting list, first come first served; each promoted person
    is told. The caller holds the event's row (it has just written it)."""
    notices: list[Notice] = []
    while True:
        first = await session.scalar(
            select(EventRsvp)
            .where(EventRsvp.event_id == event_id, EventRsvp.status == RsvpStatus.WAITING.value)
            .order_by(EventRsvp.responded_at, EventRsvp.id)
            .limit(1)
        )
        if first is None or not await _take_place(session, event_id, first.user_id, now):
            break
        moved = await session.execute(
            update(EventRsvp)
            .where(EventRsvp.id == first.id, EventRsvp.status == RsvpStatus.WAITING.value)
            .values(status=RsvpStatus.GOING.value, responded_at=now)
            .execution_options(synchronize_session=False)
        )
        if not moved.rowcount:  # type: ignore[attr-defined]  # pragma: no cover - raced
            await _give_back_place(session, event_id)
            continue
        notices.append(
            Notice(
                chat_id=first.user_id,
                kind=NoticeKind.PROMOTED,
                key=f"{key_prefix(event_id, 'promoted')}:{first.id}:{int(now.timestamp())}",
                event_id=event_id,
            )
        )
    return notices


async def respond(
    session: AsyncSession, event_id: int, user_id: int, answer: Answer, now: datetime
) -> Answered:
    """Answer going, maybe or not going. "Going" takes a place atomically, or joins the
    waiting list when none is left; leaving a place gives it to the first waiting."""
    event = await get_event(session, event_id)
    if not is_open(event, now):
        raise EventClosedError(event_id)
    row = await _rsvp(session, event_id, user_id)
    current = RsvpStatus(row.status) if row is not None else None
    notices: list[Notice] = []
    if answer is Answer.GOING:
        if current in (RsvpStatus.GOING, RsvpStatus.WAITING):
            position = await waiting_position(session, event_id, user_id)
            return Answered(event, current, position, False, [])
        if await _take_place(session, event_id, user_id, now):
            await _set_answer(session, event_id, user_id, RsvpStatus.GOING, now, row)
            event = await get_event(session, event_id)
            return Answered(event, RsvpStatus.GOING, None, True, await _full_notice(session, event))
        event = await get_event(session, event_id)
        if not is_open(event, now):
            raise EventClosedError(event_id)
        await _set_answer(session, event_id, user_id, RsvpStatus.WAITING, now, row)
        position = await waiting_position(session, event_id, user_id)
        return Answered(event, RsvpStatus.WAITING, position, True, [])
    status = RsvpStatus(answer.value)
    if current is status:
        return Answered(event, status, None, False, [])
    if current is RsvpStatus.GOING and row is not None:
        if await _leave_place(session, row.id, status, now):
            await _give_back_place(session, event_id)
            notices += await _promote(session, event_id, now)
    else:
        await _set_answer(session, event_id, user_id, status, now, row)
    event = await get_event(session, event_id)
    return Answered(event, status, None, True, notices)


# ----------------------------------------------------------------------------- organisers


async def _reloaded(session: AsyncSession, event_id: int) -> Event:
    event = await session.get(Event, event_id, populate_existing=True)
    if event is None:  # pragma: no cover - events are never deleted
        raise EventNotFoundError(event_id)
    return event


async def manageable(
    session: AsyncSession, event_id: int, actor_id: int, organiser_ids: Iterable[int]
) -> Event:
    """The event, if the actor organises it or is an organiser; else EventNotFoundError."""
    event = await session.get(Event, event_id, populate_existing=True)
    if event is None or event.status in (EventStatus.REJECTED.value,):
        raise EventNotFoundError(event_id)
    if event.organiser_id != actor_id and not await is_organiser(session, actor_id, organiser_ids):
        raise EventNotFoundError(event_id)
    return event


async def _interested(session: AsyncSession, event_id: int) -> list[int]:
    """Who answered something else than "not going"."""
    rows = await session.scalars(
        select(EventRsvp.user_id)
        .where(
            EventRsvp.event_id == event_id,
            EventRsvp.status.in_(
                [RsvpStatus.GOING.value, RsvpStatus.MAYBE.value, RsvpStatus.WAITING.value]
            ),
        )
        .order_by(EventRsvp.id)
    )
    return list(rows.all())


async def cancel_event(
    session: AsyncSession, event_id: int, actor_id: int, organiser_ids: Iterable[int], now: datetime
) -> tuple[Event, list[Notice]]:
    """Cancelled: no more answers nor reminders (the series stops repeating); everyone
    who had not said no is told, once."""
    await manageable(session, event_id, actor_id, organiser_ids)
    result = await session.execute(
        update(Event)
        .where(
            Event.id == event_id,
            Event.status.in_([EventStatus.PUBLISHED.value, EventStatus.PENDING.value]),
            Event.ends_at > now,
        )
        .values(status=EventStatus.CANCELLED.value, cancelled_at=now)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise EventClosedError(event_id)
    notices = [
        Notice(
            chat_id=user_id,
            kind=NoticeKind.CANCELLED,
            key=f"{key_prefix(event_id, 'cancelled')}:{user_id}",
            event_id=event_id,
        )
        for user_id in await _interested(session, event_id)
        if user_id != actor_id
    ]
    return await _reloaded(session, event_id), notices


@dataclass(frozen=True, slots=True)
class Change:
    """One change an organiser makes: a new time, a new place, or a new capacity (0 for
    no limit)."""

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None
    capacity: int | None = None


async def change_event(
    session: AsyncSession,
    event_id: int,
    actor_id: int,
    organiser_ids: Iterable[int],
    change: Change,
    now: datetime,
) -> tuple[Event, list[Notice]]:
    """A new time or place tells everyone who had not said no (once per change); a new
    time also re-arms their reminders. More places go to the waiting list first."""
    event = await manageable(session, event_id, actor_id, organiser_ids)
    if event.status not in (EventStatus.PUBLISHED.value, EventStatus.PENDING.value) or (
        event.ends_at <= now
    ):
        raise EventClosedError(event_id)
    told = False
    if change.starts_at is not None and change.ends_at is not None:
        event.starts_at = check_start(change.starts_at, now)
        event.ends_at = check_end(event.starts_at, change.ends_at)
        await session.execute(
            update(EventRsvp)
            .where(EventRsvp.event_id == event_id)
            .values(reminded_day_before_at=None, reminded_soon_at=None)
            .execution_options(synchronize_session=False)
        )
        told = True
    if change.latitude is not None and change.longitude is not None:
        if not validate_coordinates(change.latitude, change.longitude):
            raise EventFieldError("bad_location")
        event.latitude, event.longitude = round(change.latitude, 7), round(change.longitude, 7)
        event.address = (change.address or "")[:ADDRESS_LIMIT]
        event.maker_id = None
        told = True
    notices: list[Notice] = []
    if change.capacity is not None:
        capacity = change.capacity or None
        if capacity is not None and not 1 <= capacity <= CAPACITY_MAX:
            raise EventFieldError("bad_capacity")
        if capacity is not None and capacity < event.seats_taken:
            raise EventFieldError("below_taken")
        event.capacity = capacity
        await session.flush()
        notices += await _promote(session, event_id, now)
    if told:
        event.revision += 1
        await session.flush()
        notices += [
            Notice(
                chat_id=user_id,
                kind=NoticeKind.CHANGED,
                key=f"{key_prefix(event_id, 'changed')}:{event.revision}:{user_id}",
                event_id=event_id,
            )
            for user_id in await _interested(session, event_id)
            if user_id != actor_id
        ]
    await session.flush()
    return await _reloaded(session, event_id), notices


async def open_checkin(
    session: AsyncSession, event_id: int, actor_id: int, organiser_ids: Iterable[int], now: datetime
) -> tuple[Event, list[Notice]]:
    """The organiser's check-in button: open for an hour, from half an hour before the
    start to the end; people going (or maybe) get an "I'm here" button."""
    event = await manageable(session, event_id, actor_id, organiser_ids)
    if event.status != EventStatus.PUBLISHED.value:
        raise EventClosedError(event_id)
    if now < event.starts_at - timedelta(minutes=30):
        raise CheckinError("too_early")
    if now >= event.ends_at:
        raise CheckinError("too_late")
    event.checkin_open_until = now + CHECKIN_BUTTON_OPEN
    await session.flush()
    rows = await session.scalars(
        select(EventRsvp.user_id).where(
            EventRsvp.event_id == event_id,
            EventRsvp.status.in_([RsvpStatus.GOING.value, RsvpStatus.MAYBE.value]),
        )
    )
    done = set(
        (
            await session.scalars(
                select(EventCheckin.user_id).where(EventCheckin.event_id == event_id)
            )
        ).all()
    )
    notices = [
        Notice(
            chat_id=user_id,
            kind=NoticeKind.CHECKIN_OPEN,
            key=f"{key_prefix(event_id, 'checkin')}:{user_id}",
            event_id=event_id,
        )
        for user_id in rows.all()
        if user_id not in done
    ]
    return event, notices


# ----------------------------------------------------------------------------- check-in


@dataclass(frozen=True, slots=True)
class CheckedIn:
    event: Event
    # The eco-action's log; None when the event links none or the daily cap was reached.
    logged: actions.LogResult | None
    capped: bool


def _insert_checkin(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(EventCheckin).on_conflict_do_nothing(
        index_elements=["event_id", "user_id"]
    )


async def _check_in(
    session: AsyncSession,
    event: Event,
    user_id: int,
    method: CheckinMethod,
    now: datetime,
    tz: tzinfo,
) -> CheckedIn:
    """Record the check-in once (the primary key says so, whatever races), then log the
    event's eco-action through the actions service, as /act does: challenges, teams,
    pledges and daily caps follow."""
    statement = _insert_checkin(session)
    inserted = await session.execute(
        statement.values(
            event_id=event.id,
            user_id=user_id,
            checked_in_at=now,
            method=method.value,
            action_logged=False,
        ).returning(EventCheckin.user_id)
    )
    if inserted.first() is None:
        raise AlreadyCheckedInError(event.id)
    logged, capped = None, False
    if event.action_slug:
        try:
            logged = await actions.log_action(
                session,
                user_id=user_id,
                slug=event.action_slug,
                chat_id=user_id,
                now=now,
                tz=tz,
            )
        except actions.DailyCapError:
            capped = True
        except actions.UnknownActionError:  # pragma: no cover - checked when created
            logged = None
    if logged is not None:
        await session.execute(
            update(EventCheckin)
            .where(EventCheckin.event_id == event.id, EventCheckin.user_id == user_id)
            .values(action_logged=True)
            .execution_options(synchronize_session=False)
        )
    return CheckedIn(event, logged, capped)


async def check_in_with_code(
    session: AsyncSession, code: int, user_id: int, now: datetime, tz: tzinfo
) -> CheckedIn:
    """The event's check-in QR code, scanned at the event (from an hour before the start
    to two hours after the end)."""
    event = await session.scalar(select(Event).where(Event.checkin_code == code))
    if event is None or event.status != EventStatus.PUBLISHED.value:
        raise EventNotFoundError(code)
    if now < event.starts_at - CHECKIN_EARLY:
        raise CheckinError("too_early")
    if now > event.ends_at + CHECKIN_LATE:
        raise CheckinError("too_late")
    return await _check_in(session, event, user_id, CheckinMethod.QR, now, tz)


async def check_in_with_button(
    session: AsyncSession, event_id: int, user_id: int, now: datetime, tz: tzinfo
) -> CheckedIn:
    """ "I'm here", while the organiser's check-in is open, for people who answered going
    or maybe (the button is not a way to check in from home)."""
    event = await get_event(session, event_id)
    if event.status != EventStatus.PUBLISHED.value:
        raise CheckinError("closed")
    if event.checkin_open_until is None or now >= event.checkin_open_until:
        raise CheckinError("closed")
    if await answer_of(session, event_id, user_id) not in (RsvpStatus.GOING, RsvpStatus.MAYBE):
        raise CheckinError("not_answered")
    return await _check_in(session, event, user_id, CheckinMethod.BUTTON, now, tz)


async def is_checked_in(session: AsyncSession, event_id: int, user_id: int) -> bool:
    found = await session.scalar(
        select(EventCheckin.user_id).where(
            EventCheckin.event_id == event_id, EventCheckin.user_id == user_id
        )
    )
    return found is not None


def checkin_button_open(event: Event, now: datetime) -> bool:
    return (
        event.status == EventStatus.PUBLISHED.value
        and event.checkin_open_until is not None
        and now < event.checkin_open_until
    )


# ----------------------------------------------------------------------------- attendance


@dataclass(frozen=True, slots=True)
class Attendance:
    event: Event
    counts: Counts
    # First names of the people checked in who agreed to be named (/me), in check-in order.
    named: list[str]


async def attendance(
    session: AsyncSession, event_id: int, actor_id: int, organiser_ids: Iterable[int]
) -> Attendance:
    event = await manageable(session, event_id, actor_id, organiser_ids)
    counts = (await counts_of(session, [event_id]))[event_id]
    rows = await session.scalars(
        select(User.first_name)
        .join(EventCheckin, EventCheckin.user_id == User.id)
        .join(ActionProfile, ActionProfile.user_id == User.id)
        .where(EventCheckin.event_id == event_id, ActionProfile.show_name.is_(True))
        .order_by(EventCheckin.checked_in_at, EventCheckin.user_id)
    )
    return Attendance(event, counts, [name for name in rows.all() if name])


async def attendance_csv(
    session: AsyncSession,
    event_id: int,
    actor_id: int,
    organiser_ids: Iterable[int],
    anonymous: str,
) -> bytes:
    """One row per check-in: the person's first name if they agreed to be named, else
    `anonymous`; the local time; how; whether the action was logged."""
    event = await manageable(session, event_id, actor_id, organiser_ids)
    zone = zone_of(event)
    rows = await session.execute(
        select(EventCheckin, User.first_name, ActionProfile.show_name)
        .join(User, User.id == EventCheckin.user_id)
        .join(ActionProfile, ActionProfile.user_id == User.id, isouter=True)
        .where(EventCheckin.event_id == event_id)
        .order_by(EventCheckin.checked_in_at, EventCheckin.user_id)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["event_id", "title", "name", "checked_in_at", "method", "action_logged"])
    for checkin, first_name, show_name in rows.all():
        writer.writerow(
            [
                event.id,
                event.title,
                first_name if show_name and first_name else anonymous,
                checkin.checked_in_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                checkin.method,
                "yes" if checkin.action_logged else "no",
            ]
        )
    return buffer.getvalue().encode("utf-8")


# ----------------------------------------------------------------------------- moderation


async def pending_events(
    session: AsyncSession, moderator_id: int, organiser_ids: Iterable[int], limit: int = 10
) -> tuple[list[Event], int]:
    await require_organiser(session, moderator_id, organiser_ids)
    waiting = select(Event).where(Event.status == EventStatus.PENDING.value)
    total = await session.scalar(select(func.count()).select_from(waiting.subquery()))
    rows = await session.scalars(waiting.order_by(Event.created_at, Event.id).limit(limit))
    return list(rows.all()), int(total or 0)


async def _review(
    session: AsyncSession,
    event_id: int,
    moderator_id: int,
    organiser_ids: Iterable[int],
    values: dict[str, object],
) -> Event:
    await require_organiser(session, moderator_id, organiser_ids)
    event = await session.get(Event, event_id)
    if event is None:
        raise EventNotFoundError(event_id)
    result = await session.execute(
        update(Event)
        .where(Event.id == event_id, Event.status == EventStatus.PENDING.value)
        .values(reviewed_by=moderator_id, **values)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise AlreadyReviewedError(event_id)
    return await _reloaded(session, event_id)


async def approve_event(
    session: AsyncSession,
    event_id: int,
    moderator_id: int,
    organiser_ids: Iterable[int],
    now: datetime,
) -> tuple[Event, list[Notice]]:
    """Published; its author is told. A proposal whose time has passed cannot be."""
    event = await session.get(Event, event_id)
    if event is not None and event.status == EventStatus.PENDING.value and event.ends_at <= now:
        raise EventClosedError(event_id)
    event = await _review(
        session, event_id, moderator_id, organiser_ids, {"status": EventStatus.PUBLISHED.value}
    )
    notices = []
    if event.organiser_id is not None:
        notices.append(
            Notice(
                chat_id=event.organiser_id,
                kind=NoticeKind.APPROVED,
                key=key_prefix(event_id, "reviewed"),
                event_id=event_id,
            )
        )
    return event, notices + await announcements(session, event, now)


async def reject_event(
    session: AsyncSession,
    event_id: int,
    moderator_id: int,
    organiser_ids: Iterable[int],
    reason: RejectionReason,
) -> tuple[Event, list[Notice]]:
    event = await _review(
        session,
        event_id,
        moderator_id,
        organiser_ids,
        {"status": EventStatus.REJECTED.value, "rejection_reason": reason.value},
    )
    notices = []
    if event.organiser_id is not None:
        notices.append(
            Notice(
                chat_id=event.organiser_id,
                kind=NoticeKind.REJECTED,
                key=key_prefix(event_id, "reviewed"),
                event_id=event_id,
                params={"reason": reason.value},
            )
        )
    return event, notices


# ----------------------------------------------------------------------------- team groups


async def _group_slot(session: AsyncSession, chat_id: int, now: datetime, zone: tzinfo) -> datetime:
    """When a group may hear of one more event: now, unless it already has its share of
    announcements today; then the morning of the first day with room (within a week)."""
    day = now.astimezone(zone).date()
    for ahead in range(8):
        start = _local(day + timedelta(days=ahead), time(0), zone)
        end = _local(day + timedelta(days=ahead + 1), time(0), zone)
        queued = await session.scalar(
            select(func.count()).where(
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.kind == ANNOUNCE_KIND,
                OutboxMessage.not_before >= start,
                OutboxMessage.not_before < end,
                OutboxMessage.status.not_in([OutboxStatus.CANCELLED, OutboxStatus.FAILED]),
            )
        )
        if int(queued or 0) < GROUP_ANNOUNCEMENTS_PER_DAY:
            return (
                now
                if ahead == 0
                else max(now, _local(day + timedelta(days=ahead), ANNOUNCE_AT, zone))
            )
    return now + timedelta(days=8)


async def announcements(session: AsyncSession, event: Event, now: datetime) -> list[Notice]:
    """A campus event is announced in the groups of its team, or of every team of its
    contest, at most GROUP_ANNOUNCEMENTS_PER_DAY a day per group (the rest later, unless
    the event will have started by then)."""
    if event.status != EventStatus.PUBLISHED.value or event.contest_id is None:
        return []
    query = select(Team.chat_id).where(Team.contest_id == event.contest_id)
    if event.team_id is not None:
        query = query.where(Team.id == event.team_id)
    chats = sorted(set((await session.scalars(query)).all()))
    notices = []
    zone = zone_of(event)
    for chat_id in chats:
        when = await _group_slot(session, chat_id, now, zone)
        if when >= event.starts_at:
            continue
        notices.append(
            Notice(
                chat_id=chat_id,
                kind=NoticeKind.ANNOUNCED,
                key=f"{key_prefix(event.id, 'announce')}:{chat_id}",
                event_id=event.id,
                not_before=when,
            )
        )
    return notices


# ----------------------------------------------------------------------------- reminders


def day_before_due(event: Event) -> datetime:
    zone = zone_of(event)
    day = event.starts_at.astimezone(zone).date() - timedelta(days=1)
    return _local(day, DAY_BEFORE_AT, zone)


def soon_due(event: Event) -> datetime:
    return event.starts_at - SOON_BEFORE


async def due_reminders(
    session: AsyncSession, now: datetime, default_timezone: str, limit: int = 2000
) -> list[Notice]:
    """Reminders due now for people going: the day before (DAY_BEFORE_AT, the event's
    zone) and SOON_BEFORE the start. Each is decided once per person and event time (the
    row is marked in the same transaction): sent, deferred past the person's quiet hours,
    or dropped when they switched event reminders off, answered after it was due, or quiet
    hours would carry it past its use."""
    rows = await session.execute(
        select(EventRsvp, Event, User)
        .join(Event, Event.id == EventRsvp.event_id)
        .join(User, User.id == EventRsvp.user_id)
        .where(
            EventRsvp.status == RsvpStatus.GOING.value,
            or_(EventRsvp.reminded_day_before_at.is_(None), EventRsvp.reminded_soon_at.is_(None)),
            Event.status == EventStatus.PUBLISHED.value,
            Event.starts_at > now,
            Event.starts_at <= now + timedelta(days=2),
        )
        .order_by(Event.starts_at, EventRsvp.id)
        .limit(limit)
    )
    notices: list[Notice] = []
    for rsvp, event, user in rows.all():
        soon = soon_due(event)
        plans = (
            (NoticeKind.REMINDER_DAY, "reminded_day_before_at", day_before_due(event), soon),
            (NoticeKind.REMINDER_SOON, "reminded_soon_at", soon, event.starts_at),
        )
        prefs: nudges.Prefs | None = None
        for kind, column, due, useless_from in plans:
            if getattr(rsvp, column) is not None or now < due:
                continue
            setattr(rsvp, column, now)
            if now >= useless_from or rsvp.responded_at >= due or not user.is_active:
                continue
            prefs = prefs or await nudges.load_prefs(session, user.id)
            if NudgeKind.EVENT_REMINDER.value in prefs.opted_out:
                continue
            deliver_at = nudges.delivery_time(prefs, now, nudges.user_zone(user, default_timezone))
            if deliver_at >= useless_from:
                continue
            notices.append(
                Notice(
                    chat_id=user.id,
                    kind=kind,
                    key=f"{key_prefix(event.id, 'remind')}:{event.revision}:{kind.value}:{user.id}",
                    event_id=event.id,
                    not_before=deliver_at,
                )
            )
    await session.flush()
    return notices


# ----------------------------------------------------------------------------- recurrence


async def repeat_ended(session: AsyncSession, now: datetime, limit: int = 200) -> list[Event]:
    """The next occurrence of each repeating event that has ended: one occurrence at a
    time, created once (the ended one records its successor)."""
    ended = list(
        (
            await session.scalars(
                select(Event)
                .where(
                    Event.status == EventStatus.PUBLISHED.value,
                    Event.recurrence != Recurrence.NONE.value,
                    Event.next_event_id.is_(None),
                    Event.ends_at <= now,
                )
                .order_by(Event.ends_at, Event.id)
                .limit(limit)
            )
        ).all()
    )
    created = []
    for event in ended:
        zone = zone_of(event)
        recurrence = Recurrence(event.recurrence)
        duration = event.ends_at - event.starts_at
        start = next_start(event.starts_at, recurrence, zone)
        # A series the worker did not see for a while skips the occurrences already past.
        while start + duration <= now:
            start = next_start(start, recurrence, zone)
        successor = Event(
            title=event.title,
            description=event.description,
            category=event.category,
            starts_at=start,
            ends_at=start + duration,
            timezone=event.timezone,
            latitude=event.latitude,
            longitude=event.longitude,
            address=event.address,
            maker_id=event.maker_id,
            capacity=event.capacity,
            seats_taken=0,
            photo_file_id=event.photo_file_id,
            action_slug=event.action_slug,
            contest_id=event.contest_id,
            team_id=event.team_id,
            recurrence=event.recurrence,
            series_id=event.series_id or event.id,
            organiser_id=event.organiser_id,
            status=EventStatus.PUBLISHED.value,
            reviewed_by=event.reviewed_by,
            revision=0,
            created_at=now,
            checkin_code=_new_code(),
        )
        session.add(successor)
        await session.flush()
        claimed = await session.execute(
            update(Event)
            .where(Event.id == event.id, Event.next_event_id.is_(None))
            .values(next_event_id=successor.id)
            .execution_options(synchronize_session=False)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]  # pragma: no cover - raced
            await session.delete(successor)
            continue
        created.append(successor)
    await session.flush()
    return created


# ----------------------------------------------------------------------------- calendar


def ics_bytes(event: Event, url: str, now: datetime, host: str = "greenhood") -> bytes:
    """The event as an iCalendar file (RFC 5545) for "add to my calendar": times in UTC,
    the place as LOCATION and GEO, the deep link as URL."""
    from icalendar import Calendar
    from icalendar import Event as CalendarEvent

    calendar = Calendar()
    calendar.add("prodid", "-//Greenhood//Events near me//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    entry = CalendarEvent()
    entry.add("uid", f"event-{event.id}@{host}")
    entry.add("dtstamp", now.astimezone(UTC))
    entry.add("dtstart", event.starts_at.astimezone(UTC))
    entry.add("dtend", event.ends_at.astimezone(UTC))
    entry.add("summary", event.title)
    entry.add("description", "\n\n".join(part for part in (event.description, url) if part))
    if event.address:
        entry.add("location", event.address)
    entry.add("geo", (event.latitude, event.longitude))
    entry.add("url", url)
    entry.add("sequence", event.revision)
    entry.add("status", "CANCELLED" if event.status == EventStatus.CANCELLED.value else "CONFIRMED")
    calendar.add_component(entry)
    return bytes(calendar.to_ical())


# ----------------------------------------------------------------------------- erasure


@dataclass(frozen=True, slots=True)
class Withdrawn:
    notices: list[Notice]
    # Their events: reminders and announcements not sent yet about them must not be.
    event_ids: list[int]


async def withdraw_for_erasure(session: AsyncSession, user_id: int, now: datetime) -> Withdrawn:
    """/forget, before the metadata walk erases the person's rows (bot/services/erasure.py).

    A place they held goes to the waiting list (the walk would only delete the answer).
    Their events outlive them without them: one not over yet is cancelled (those who
    answered are told) and stops repeating; every one loses what could identify them
    (description, photo, address, the exact point, their maker listing) and keeps its
    figures (answers, check-ins). The walk then detaches the organiser."""
    notices: list[Notice] = []
    held = await session.scalars(
        select(EventRsvp).where(
            EventRsvp.user_id == user_id, EventRsvp.status == RsvpStatus.GOING.value
        )
    )
    for row in list(held.all()):
        if await _leave_place(session, row.id, RsvpStatus.NOT_GOING, now):
            await _give_back_place(session, row.event_id)
            event = await session.get(Event, row.event_id, populate_existing=True)
            if event is not None and is_open(event, now):
                notices += await _promote(session, row.event_id, now)
    own = list((await session.scalars(select(Event).where(Event.organiser_id == user_id))).all())
    for event in own:
        cancelled = await session.execute(
            update(Event)
            .where(
                Event.id == event.id,
                Event.status.in_([EventStatus.PUBLISHED.value, EventStatus.PENDING.value]),
                Event.ends_at > now,
            )
            .values(status=EventStatus.CANCELLED.value, cancelled_at=now)
            .execution_options(synchronize_session=False)
        )
        if cancelled.rowcount:  # type: ignore[attr-defined]
            notices += [
                Notice(
                    chat_id=person,
                    kind=NoticeKind.CANCELLED,
                    key=f"{key_prefix(event.id, 'cancelled')}:{person}",
                    event_id=event.id,
                )
                for person in await _interested(session, event.id)
                if person != user_id
            ]
        await session.execute(
            update(Event)
            .where(Event.id == event.id)
            .values(
                description="",
                address="",
                photo_file_id=None,
                latitude=offers.coarse(event.latitude),
                longitude=offers.coarse(event.longitude),
                maker_id=None,
                recurrence=Recurrence.NONE.value,
            )
            .execution_options(synchronize_session=False)
        )
    await session.flush()
    return Withdrawn(notices, [event.id for event in own])
