"""The events service without Telegram: fields, publishing and proposals, the nearby search
and its windows, places with a waiting list (including 50 people racing for the last
place on SQLite and PostgreSQL), reminders at local times and quiet hours, changes and
cancellations told once, check-in logging the action once, recurrence, .ics, erasure."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import actions, contests, erasure, events, nudges
from bot.services.events import (
    AlreadyCheckedInError,
    Answer,
    CheckinError,
    EventClosedError,
    EventDraft,
    EventFieldError,
    EventNotFoundError,
    NoticeKind,
    StartPreset,
    Window,
)
from bot.services.users import NotOrganiserError
from models import (
    ActionLog,
    Event,
    EventCheckin,
    EventRsvp,
    EventStatus,
    Recurrence,
    RejectionReason,
    RsvpStatus,
    User,
)
from models.database import create_engine, create_sessionmaker, upgrade

# A Monday, 10:00 in Paris.
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
BORDEAUX = (44.8378, -0.5792)
ORGANISER = 900
ORGANISERS = frozenset({ORGANISER})
RESIDENT = 901


async def add_users(session: AsyncSession, *ids: int) -> None:
    for user_id in ids:
        if await session.get(User, user_id) is None:
            session.add(
                User(id=user_id, first_name=f"U{user_id}", created_at=NOW, last_seen_at=NOW)
            )
    await session.flush()


def draft(**overrides: object) -> EventDraft:
    start = datetime(2026, 1, 10, 10, 0, tzinfo=PARIS)  # Saturday
    values: dict[str, object] = {
        "title": "Repair café",
        "description": "Bring what is broken",
        "category": "repair",
        "starts_at": start,
        "ends_at": start + timedelta(hours=3),
        "latitude": BORDEAUX[0],
        "longitude": BORDEAUX[1],
        "address": "Salle des fêtes",
        "capacity": 2,
        "action_slug": "repaired_item",
    }
    values.update(overrides)
    return EventDraft(**values)  # type: ignore[arg-type]


async def published(session: AsyncSession, **overrides: object) -> Event:
    await add_users(session, ORGANISER)
    event, _ = await events.create_event(
        session, ORGANISER, draft(**overrides), NOW, ORGANISERS, "Europe/Paris"
    )
    assert event.status == EventStatus.PUBLISHED.value
    return event


def test_fields_and_times() -> None:
    assert events.clean_title("  Repair   café ") == "Repair café"
    for bad, code in (("", "empty"), ("!!!", "no_letters"), ("x" * 81, "too_long")):
        with pytest.raises(EventFieldError) as caught:
            events.clean_title(bad)
        assert caught.value.code == code
    start = events.parse_start("10/01 10:00", NOW, PARIS)
    assert start == datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    # A day already past this year is next year's.
    assert events.parse_start("02/01 10:00", NOW, PARIS).year == 2027
    for bad, code in (
        ("05/01 10:10", "too_soon"),
        ("31/02 10:00", "bad_time"),
        ("demain", "bad_time"),
        ("10/01/2028 10:00", "too_far"),
    ):
        with pytest.raises(EventFieldError) as caught:
            events.parse_start(bad, NOW, PARIS)
        assert caught.value.code == code, bad
    assert events.parse_end("13:30", start, PARIS) == start + timedelta(hours=3, minutes=30)
    # Before the start: the next day (an evening running past midnight).
    assert events.parse_end("01:00", start, PARIS) == start + timedelta(hours=15)
    with pytest.raises(EventFieldError):
        events.parse_end("20/01 10:00", start, PARIS)  # longer than a week
    assert events.duration_end(start, 2) == start + timedelta(hours=2)
    saturday = events.preset_start(StartPreset.SATURDAY, NOW, PARIS)
    assert saturday.astimezone(PARIS).strftime("%a %d %H:%M") == "Sat 10 10:00"
    assert events.parse_capacity("25") == 25
    for bad in ("0", "10001", "-3", "lots"):
        with pytest.raises(EventFieldError):
            events.parse_capacity(bad)


def test_recurrence_keeps_the_local_time_and_the_weekday_of_the_month() -> None:
    # Saturday 7 March 2026, 10:00 in Paris (UTC+1); DST starts on 29 March.
    first = datetime(2026, 3, 7, 10, 0, tzinfo=PARIS)
    weekly = events.next_start(first, Recurrence.WEEKLY, PARIS)
    assert weekly.astimezone(PARIS).replace(tzinfo=None) == datetime(2026, 3, 14, 10, 0)
    later = events.next_start(datetime(2026, 3, 28, 10, 0, tzinfo=PARIS), Recurrence.WEEKLY, PARIS)
    assert later.astimezone(PARIS).hour == 10  # across the DST change
    monthly = events.next_start(first, Recurrence.MONTHLY, PARIS)  # 1st Saturday of April
    assert monthly.astimezone(PARIS).replace(tzinfo=None) == datetime(2026, 4, 4, 10, 0)
    fifth = datetime(2026, 5, 30, 10, 0, tzinfo=PARIS)  # the 5th Saturday of May
    june = events.next_start(fifth, Recurrence.MONTHLY, PARIS)
    assert june.astimezone(PARIS).replace(tzinfo=None) == datetime(2026, 6, 27, 10, 0)


async def test_organisers_publish_and_proposals_wait_for_moderation(
    session: AsyncSession,
) -> None:
    await add_users(session, ORGANISER, RESIDENT)
    event = await published(session)
    assert event.series_id == event.id and event.checkin_code >= 10**11
    proposal, notices = await events.create_event(
        session, RESIDENT, draft(title="Seed swap"), NOW, ORGANISERS, "Europe/Paris"
    )
    assert proposal.status == EventStatus.PENDING.value and notices == []
    with pytest.raises(EventNotFoundError):
        await events.get_event(session, proposal.id)
    with pytest.raises(EventFieldError):  # residents do not scope to a contest
        await events.create_event(
            session, RESIDENT, draft(contest_id=1), NOW, ORGANISERS, "Europe/Paris"
        )
    with pytest.raises(NotOrganiserError):
        await events.pending_events(session, RESIDENT, ORGANISERS)
    pending, total = await events.pending_events(session, ORGANISER, ORGANISERS)
    assert [e.id for e in pending] == [proposal.id] and total == 1
    approved, notices = await events.approve_event(session, proposal.id, ORGANISER, ORGANISERS, NOW)
    assert approved.status == EventStatus.PUBLISHED.value
    assert [(n.chat_id, n.kind) for n in notices] == [(RESIDENT, NoticeKind.APPROVED)]
    with pytest.raises(events.AlreadyReviewedError):
        await events.reject_event(
            session, proposal.id, ORGANISER, ORGANISERS, RejectionReason.DUPLICATE
        )
    for number in range(events.MAX_PENDING):
        await events.create_event(
            session, RESIDENT, draft(title=f"Idea {number}"), NOW, ORGANISERS, "Europe/Paris"
        )
    with pytest.raises(EventFieldError) as caught:
        await events.create_event(
            session, RESIDENT, draft(title="One too many"), NOW, ORGANISERS, "Europe/Paris"
        )
    assert caught.value.code == "too_many_pending"


async def test_nearby_day_by_day_then_nearest_with_windows(session: AsyncSession) -> None:
    saturday = datetime(2026, 1, 10, 10, 0, tzinfo=PARIS)
    far = await published(session, title="Far Saturday", latitude=44.90, longitude=-0.60)
    near = await published(session, title="Near Saturday")
    sunday = await published(
        session,
        title="Sunday",
        starts_at=saturday + timedelta(days=1),
        ends_at=saturday + timedelta(days=1, hours=2),
    )
    next_week = await published(
        session,
        title="Next week",
        starts_at=saturday + timedelta(days=4),
        ends_at=saturday + timedelta(days=4, hours=2),
    )
    await published(session, title="Paris", latitude=48.85, longitude=2.35)

    async def ids(window: Window) -> list[int]:
        page = await events.upcoming_near(
            session, *BORDEAUX, NOW, PARIS, viewer_id=RESIDENT, window=window, limit=10
        )
        return [found.event.id for found in page.events]

    assert await ids(Window.UPCOMING) == [near.id, far.id, sunday.id, next_week.id]
    assert await ids(Window.WEEK) == [near.id, far.id, sunday.id]
    assert await ids(Window.WEEKEND) == [near.id, far.id, sunday.id]
    page = await events.upcoming_near(session, *BORDEAUX, NOW, PARIS, viewer_id=None, limit=2)
    assert page.has_more and len(page.events) == 2


async def test_campus_events_are_listed_for_their_contest_only(session: AsyncSession) -> None:
    await add_users(session, ORGANISER, RESIDENT, 902)
    contest = await contests.create_contest(session, "Campus", ORGANISER, ORGANISERS, NOW)
    team, _, _ = await contests.register_team(
        session, contest.join_code, -100, "Team A", RESIDENT, NOW
    )
    await contests.join_team(session, team.id, RESIDENT, NOW)
    event, notices = await events.create_event(
        session, ORGANISER, draft(contest_id=contest.id), NOW, ORGANISERS, "Europe/Paris"
    )
    assert [(n.chat_id, n.kind) for n in notices] == [(-100, NoticeKind.ANNOUNCED)]
    for viewer, expected in ((RESIDENT, [event.id]), (902, [])):
        page = await events.upcoming_near(session, *BORDEAUX, NOW, PARIS, viewer_id=viewer, limit=5)
        assert [found.event.id for found in page.events] == expected
    group = await events.events_for_chat(session, -100, NOW)
    assert group is not None and [e.id for e in group] == [event.id]
    assert await events.events_for_chat(session, -999, NOW) is None


async def test_group_announcements_are_rate_limited(session: AsyncSession) -> None:
    from bot.services import outbox

    await add_users(session, ORGANISER, RESIDENT)
    contest = await contests.create_contest(session, "Campus", ORGANISER, ORGANISERS, NOW)
    await contests.register_team(session, contest.join_code, -100, "Team A", RESIDENT, NOW)
    whens = []
    for number in range(3):
        _event, notices = await events.create_event(
            session,
            ORGANISER,
            draft(title=f"Talk {number}", contest_id=contest.id),
            NOW,
            ORGANISERS,
            "Europe/Paris",
        )
        (notice,) = notices
        assert notice.not_before is not None
        whens.append(notice.not_before)
        await outbox.enqueue(
            session,
            chat_id=notice.chat_id,
            kind=events.ANNOUNCE_KIND,
            text="x",
            key=notice.key,
            now=NOW,
            not_before=notice.not_before,
        )
    # Two today, the third the next morning at 09:00 (Paris).
    assert whens[:2] == [NOW, NOW]
    assert whens[2] == datetime(2026, 1, 6, 8, 0, tzinfo=UTC)


async def test_places_waiting_list_and_promotion(session: AsyncSession) -> None:
    event = await published(session, capacity=2)
    await add_users(session, 1, 2, 3, 4)
    first = await events.respond(session, event.id, 1, Answer.GOING, NOW)
    assert first.status is RsvpStatus.GOING and first.notices == []
    again = await events.respond(session, event.id, 1, Answer.GOING, NOW)
    assert not again.changed
    second = await events.respond(session, event.id, 2, Answer.GOING, NOW)
    # The last place: the organiser hears the event is full.
    assert [(n.chat_id, n.kind) for n in second.notices] == [(ORGANISER, NoticeKind.FULL)]
    third = await events.respond(session, event.id, 3, Answer.GOING, NOW + timedelta(minutes=1))
    fourth = await events.respond(session, event.id, 4, Answer.GOING, NOW + timedelta(minutes=2))
    assert (third.status, third.position) == (RsvpStatus.WAITING, 1)
    assert (fourth.status, fourth.position) == (RsvpStatus.WAITING, 2)
    assert third.event.seats_taken == 2
    # Someone going says maybe: the first waiting gets the place and is told.
    left = await events.respond(session, event.id, 1, Answer.MAYBE, NOW + timedelta(minutes=3))
    assert [(n.chat_id, n.kind) for n in left.notices] == [(3, NoticeKind.PROMOTED)]
    assert await events.answer_of(session, event.id, 3) is RsvpStatus.GOING
    assert await events.waiting_position(session, event.id, 4) == 1
    # More places: the rest of the list goes in.
    changed, notices = await events.change_event(
        session, event.id, ORGANISER, ORGANISERS, events.Change(capacity=5), NOW
    )
    assert [(n.chat_id, n.kind) for n in notices] == [(4, NoticeKind.PROMOTED)]
    assert changed.seats_taken == 3
    with pytest.raises(EventFieldError):
        await events.change_event(
            session, event.id, ORGANISER, ORGANISERS, events.Change(capacity=2), NOW
        )
    counts = (await events.counts_of(session, [event.id]))[event.id]
    assert (counts.going, counts.maybe, counts.waiting) == (3, 1, 0)


async def _race(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    people = list(range(1, 51))
    async with sessionmaker() as session:
        await add_users(session, *people)
        event = await published(session, capacity=1)
        await session.commit()
        event_id = event.id

    async def attempt(user_id: int) -> RsvpStatus:
        async with sessionmaker() as session:
            answered = await events.respond(session, event_id, user_id, Answer.GOING, NOW)
            await session.commit()
            return answered.status

    outcomes = await asyncio.gather(*(attempt(user_id) for user_id in people))
    async with sessionmaker() as session:
        taken = await session.scalar(select(Event.seats_taken).where(Event.id == event_id))
        going = await session.scalar(
            select(func.count())
            .select_from(EventRsvp)
            .where(EventRsvp.event_id == event_id, EventRsvp.status == RsvpStatus.GOING.value)
        )
    assert taken == going == 1
    return outcomes.count(RsvpStatus.GOING), outcomes.count(RsvpStatus.WAITING)


async def test_fifty_people_race_for_the_last_place_on_sqlite(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    assert await _race(sessionmaker) == (1, 49)


async def test_fifty_people_race_for_the_last_place_on_postgres(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        await upgrade(engine)
        assert await _race(create_sessionmaker(engine)) == (1, 49)
    finally:
        await engine.dispose()


async def test_reminders_at_local_times_once_and_never_in_quiet_hours(
    session: AsyncSession,
) -> None:
    # Saturday 10 January 09:00 in Paris: day before at Friday 18:00, soon at 07:00 (quiet).
    start = datetime(2026, 1, 10, 9, 0, tzinfo=PARIS)
    event = await published(session, starts_at=start, ends_at=start + timedelta(hours=2))
    await add_users(session, 1, 2, 3)
    for person in (1, 2, 3):
        await events.respond(session, event.id, person, Answer.GOING, NOW)
    await nudges.toggle_kind(session, 3, nudges.NudgeKind.EVENT_REMINDER)  # 3 opted out
    day_before = datetime(2026, 1, 9, 18, 0, tzinfo=PARIS)
    assert (
        await events.due_reminders(session, day_before - timedelta(minutes=1), "Europe/Paris") == []
    )
    due = await events.due_reminders(session, day_before, "Europe/Paris")
    assert sorted((n.chat_id, n.kind) for n in due) == [
        (1, NoticeKind.REMINDER_DAY),
        (2, NoticeKind.REMINDER_DAY),
    ]
    assert all(n.not_before == day_before for n in due)
    assert (
        await events.due_reminders(session, day_before + timedelta(hours=1), "Europe/Paris") == []
    )
    soon = datetime(2026, 1, 10, 7, 0, tzinfo=PARIS)
    due = await events.due_reminders(session, soon, "Europe/Paris")
    # Inside quiet hours (22:00-08:00): held until 08:00, still before the start.
    assert {n.not_before for n in due} == {datetime(2026, 1, 10, 8, 0, tzinfo=PARIS)}
    assert sorted(n.chat_id for n in due) == [1, 2]
    assert await events.due_reminders(session, soon + timedelta(minutes=30), "Europe/Paris") == []
    # A new time re-arms them, with new keys.
    _changed, notices = await events.change_event(
        session,
        event.id,
        ORGANISER,
        ORGANISERS,
        events.Change(
            starts_at=start + timedelta(days=7), ends_at=start + timedelta(days=7, hours=2)
        ),
        soon + timedelta(minutes=30),
    )
    assert sorted((n.chat_id, n.kind) for n in notices) == [
        (1, NoticeKind.CHANGED),
        (2, NoticeKind.CHANGED),
        (3, NoticeKind.CHANGED),
    ]
    later = await events.due_reminders(session, day_before + timedelta(days=7), "Europe/Paris")
    assert {n.key for n in later} == {
        f"event:{event.id}:remind:1:reminder_day:1",
        f"event:{event.id}:remind:1:reminder_day:2",
    }


async def test_reminder_quiet_hours_past_the_start_drop_it(session: AsyncSession) -> None:
    start = datetime(2026, 1, 10, 7, 30, tzinfo=PARIS)
    event = await published(session, starts_at=start, ends_at=start + timedelta(hours=2))
    await add_users(session, 1)
    await events.respond(session, event.id, 1, Answer.GOING, NOW)
    # Due at 05:30, quiet until 08:00: after the start, so not sent at all.
    assert await events.due_reminders(session, start - timedelta(hours=2), "Europe/Paris") == []


async def test_cancellation_tells_everyone_once(session: AsyncSession) -> None:
    event = await published(session, capacity=1)
    await add_users(session, 1, 2, 3)
    await events.respond(session, event.id, 1, Answer.GOING, NOW)
    await events.respond(session, event.id, 2, Answer.GOING, NOW)  # waiting
    await events.respond(session, event.id, 3, Answer.NOT_GOING, NOW)
    with pytest.raises(EventNotFoundError):
        await events.cancel_event(session, event.id, 1, ORGANISERS, NOW)
    cancelled, notices = await events.cancel_event(session, event.id, ORGANISER, ORGANISERS, NOW)
    assert cancelled.status == EventStatus.CANCELLED.value
    assert sorted((n.chat_id, n.kind) for n in notices) == [
        (1, NoticeKind.CANCELLED),
        (2, NoticeKind.CANCELLED),
    ]
    with pytest.raises(EventClosedError):
        await events.cancel_event(session, event.id, ORGANISER, ORGANISERS, NOW)
    with pytest.raises(EventClosedError):
        await events.respond(session, event.id, 3, Answer.GOING, NOW)


async def test_check_in_logs_the_action_once(session: AsyncSession) -> None:
    event = await published(session)
    await add_users(session, 1, 2)
    await events.respond(session, event.id, 1, Answer.GOING, NOW)
    with pytest.raises(CheckinError) as caught:
        await events.check_in_with_code(session, event.checkin_code, 1, NOW, PARIS)
    assert caught.value.code == "too_early"
    during = event.starts_at + timedelta(minutes=30)
    done = await events.check_in_with_code(session, event.checkin_code, 1, during, PARIS)
    assert done.logged is not None and done.logged.action.slug == "repaired_item"
    with pytest.raises(AlreadyCheckedInError):
        await events.check_in_with_code(session, event.checkin_code, 1, during, PARIS)
    with pytest.raises(EventNotFoundError):
        await events.check_in_with_code(session, 123456789012, 1, during, PARIS)
    # The button: only once the organiser opened it, and for people who answered.
    with pytest.raises(CheckinError):
        await events.check_in_with_button(session, event.id, 2, during, PARIS)
    _, notices = await events.open_checkin(session, event.id, ORGANISER, ORGANISERS, during)
    assert notices == []  # person 1 already checked in
    with pytest.raises(CheckinError) as caught:
        await events.check_in_with_button(session, event.id, 2, during, PARIS)
    assert caught.value.code == "not_answered"
    await events.respond(session, event.id, 2, Answer.MAYBE, during)
    await events.check_in_with_button(session, event.id, 2, during, PARIS)
    with pytest.raises(CheckinError):
        await events.check_in_with_code(
            session, event.checkin_code, 3, event.ends_at + timedelta(hours=3), PARIS
        )
    logs = (await session.scalars(select(ActionLog.user_id).order_by(ActionLog.user_id))).all()
    assert list(logs) == [1, 2]
    await actions.set_show_name(session, 2, True)
    seen = await events.attendance(session, event.id, ORGANISER, ORGANISERS)
    assert seen.counts.checked_in == 2 and seen.named == ["U2"]
    csv_text = (
        await events.attendance_csv(session, event.id, ORGANISER, ORGANISERS, "anonymous")
    ).decode()
    assert "anonymous" in csv_text and "U2" in csv_text and "U1" not in csv_text
    with pytest.raises(EventNotFoundError):
        await events.attendance(session, event.id, 1, ORGANISERS)


async def test_a_weekly_event_repeats_once_it_has_ended(session: AsyncSession) -> None:
    event = await published(session, recurrence="weekly")
    await add_users(session, 1)
    await events.respond(session, event.id, 1, Answer.GOING, NOW)
    assert await events.repeat_ended(session, event.ends_at - timedelta(minutes=1)) == []
    (successor,) = await events.repeat_ended(session, event.ends_at)
    assert successor.starts_at == event.starts_at + timedelta(days=7)
    assert successor.series_id == event.id and successor.seats_taken == 0
    assert successor.checkin_code != event.checkin_code
    assert await events.repeat_ended(session, event.ends_at + timedelta(hours=1)) == []


def test_ics_round_trip() -> None:
    start = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    event = Event(
        id=7,
        title="Repair café",
        description="Bring what is broken",
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        latitude=BORDEAUX[0],
        longitude=BORDEAUX[1],
        address="Salle des fêtes",
        revision=2,
        status=EventStatus.PUBLISHED.value,
    )
    data = events.ics_bytes(event, "https://t.me/bot?start=event_7", NOW)
    calendar = icalendar.Calendar.from_ical(data)
    (entry,) = calendar.walk("VEVENT")
    assert str(entry["summary"]) == "Repair café"
    assert entry.decoded("dtstart") == start
    assert entry.decoded("dtend") == start + timedelta(hours=3)
    assert str(entry["location"]) == "Salle des fêtes"
    assert str(entry["url"]) == "https://t.me/bot?start=event_7"


async def test_forget_gives_the_place_to_the_waiting_list_and_cancels_own_events(
    session: AsyncSession,
) -> None:
    event = await published(session, capacity=1)
    await add_users(session, 1, 2)
    await events.respond(session, event.id, 1, Answer.GOING, NOW)
    await events.respond(session, event.id, 2, Answer.GOING, NOW)  # waiting
    forgotten = await erasure.forget(session, 1, NOW)
    assert [(n.chat_id, n.kind) for n in forgotten.event_notices] == [(2, NoticeKind.PROMOTED)]
    assert await events.answer_of(session, event.id, 2) is RsvpStatus.GOING
    assert (
        await session.scalar(
            select(func.count()).select_from(EventRsvp).where(EventRsvp.user_id == 1)
        )
        == 0
    )
    # The organiser goes: their event is cancelled, attendees told, details cleared.
    forgotten = await erasure.forget(session, ORGANISER, NOW)
    assert [(n.chat_id, n.kind) for n in forgotten.event_notices] == [(2, NoticeKind.CANCELLED)]
    kept = await session.get(Event, event.id, populate_existing=True)
    assert kept is not None and kept.organiser_id is None and kept.address == ""
    assert kept.status == EventStatus.CANCELLED.value
    assert await session.scalar(select(func.count()).select_from(EventCheckin)) == 0
