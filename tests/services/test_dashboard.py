"""The dashboard's and the contest screens' figures (bot/services/dashboard.py), counted by
hand from tests/support/webapp.py's seed, and the backlogs of /metrics (monitoring)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.services import dashboard, leases, monitoring, outbox
from bot.services.users import NotOrganiserError
from models import ActionLog, Contest
from tests.support.webapp import (
    CHALLENGE,
    CONTEST,
    ORGANISER,
    PLEDGE,
    RESIDENT,
    TEAMS,
    Seeded,
    seed,
)

SECRET = b"s" * 32
THIS_WEEK = date(2026, 1, 5)  # ManualClock's start is Monday 5 January 2026


@pytest.fixture
async def seeded(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clock: ManualClock
) -> Seeded:
    return await seed(sessionmaker, settings, clock.now())


async def test_the_dashboard_counts_what_happened(
    session: AsyncSession, settings: Settings, clock: ManualClock, seeded: Seeded
) -> None:
    data = await dashboard.dashboard(
        session, ORGANISER, {ORGANISER}, clock.now(), settings.tz, SECRET
    )
    assert data.weeks[-1] == THIS_WEEK
    assert data.weeks[0] == THIS_WEEK - timedelta(weeks=dashboard.WEEKS_SHOWN - 1)
    o = data.overview
    # 12 people, the organiser and the resident.
    assert (o.users, o.active_this_week, o.week_actions) == (14, 6, 10)
    # 10 + 8 + 6 actions in the three weeks before, 10 this week.
    assert o.actions == 34
    # This week: 4 vegetarian meals (3.9 kg), 4 bike trips (1.1 kg), 2 repairs (9.7 kg).
    assert o.week_co2e_g == 4 * 3900 + 4 * 1100 + 2 * 9700

    [panel] = data.contests
    assert panel.contest.name == CONTEST
    assert (panel.teams, panel.members) == (3, 12)
    standings = [(r.rank, r.name, r.actions, r.active_members) for r in panel.standings]
    assert standings == [
        (1, TEAMS[0][1], 6, 2),
        (2, TEAMS[1][1], 4, 4),
        (3, TEAMS[2][1], 0, 0),
    ]
    assert panel.screen_id == f"{seeded.contest_id}-{dashboard.screen_key(SECRET, panel.contest)}"
    chartered = {series.name: series.per_member for series in panel.evolution}
    assert chartered[TEAMS[0][1]][-1] == 3.0
    assert chartered[TEAMS[1][1]][-1] == 1.0
    # Four weeks ago (the third before this one): every member of team 1 logged one each.
    assert chartered[TEAMS[0][1]][-4] == 1.0
    assert len(chartered[TEAMS[0][1]]) == dashboard.WEEKS_SHOWN

    [challenge] = data.challenges
    assert challenge.challenge.title == CHALLENGE
    assert challenge.challenge.pledge == PLEDGE
    assert challenge.participants == 12
    assert challenge.week_total == 4
    assert challenge.totals[-1] == 4

    this_week = {row.category: row for row in data.actions if row.week == THIS_WEEK}
    assert (this_week["food"].actions, this_week["food"].co2e_g) == (4, 4 * 3900)
    assert (this_week["transport"].actions, this_week["consumption"].actions) == (4, 2)
    assert this_week["water"].actions == 0
    assert sum(row.actions for row in data.actions) == 34

    assert data.offers[-1] == dashboard.OfferWeek(THIS_WEEK, posted=1, reserved=2, picked_up=1)
    assert all((w.posted, w.reserved, w.picked_up) == (0, 0, 0) for w in data.offers[:-1])
    assert data.offer_totals == dashboard.OfferTotals(open_now=1, posted=1, reserved=2, picked_up=1)
    assert data.moderation == dashboard.ModerationQueue(
        pending_makers=1, reported_offers=1, open_reports=1
    )


async def test_only_organisers_get_the_dashboard(
    session: AsyncSession, settings: Settings, clock: ManualClock, seeded: Seeded
) -> None:
    with pytest.raises(NotOrganiserError):
        await dashboard.dashboard(session, RESIDENT, {ORGANISER}, clock.now(), settings.tz, SECRET)
    with pytest.raises(NotOrganiserError):
        await dashboard.export_file(
            session, "action_log", RESIDENT, {ORGANISER}, clock.now(), settings.tz, Path(".")
        )


async def test_downloads_are_the_export_files(
    session: AsyncSession, settings: Settings, clock: ManualClock, seeded: Seeded, tmp_path: Path
) -> None:
    file = await dashboard.export_file(
        session, "action_log", ORGANISER, {ORGANISER}, clock.now(), settings.tz, tmp_path
    )
    assert (file.name, file.rows) == ("action_log.csv", 34)
    with pytest.raises(LookupError):
        await dashboard.export_file(
            session, "users", ORGANISER, {ORGANISER}, clock.now(), settings.tz, tmp_path
        )


async def test_a_screen_opens_with_its_key_only(session: AsyncSession, seeded: Seeded) -> None:
    contest = await session.get(Contest, seeded.contest_id)
    assert contest is not None
    given = dashboard.screen_id(SECRET, contest)
    found = await dashboard.contest_for_screen(session, SECRET, given)
    assert found is not None and found.id == contest.id
    key = given.split("-", 1)[1]
    assert len(key) == dashboard.SCREEN_KEY_LENGTH
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    for attempt in (
        f"{contest.id}-{wrong}",
        f"{contest.id + 1}-{key}",
        f"{contest.id}-{key[:-1]}",
        str(contest.id),
        f"{contest.id}-{key}/../x",
        "",
    ):
        assert await dashboard.contest_for_screen(session, SECRET, attempt) is None, attempt
    assert await dashboard.contest_for_screen(session, b"t" * 32, given) is None


async def test_the_screen_shows_team_totals(
    session: AsyncSession, settings: Settings, clock: ManualClock, seeded: Seeded
) -> None:
    contest = await session.get(Contest, seeded.contest_id)
    assert contest is not None
    screen = await dashboard.contest_screen(session, contest, clock.now(), settings.tz)
    assert screen.week == THIS_WEEK
    assert [row.name for row in screen.rows] == [name for _, name in TEAMS]
    assert (screen.week_actions, screen.week_active) == (10, 6)
    assert screen.week_co2e_g == 4 * 3900 + 4 * 1100 + 2 * 9700
    # Every log was made by a team member.
    total = await session.scalar(select(func.sum(ActionLog.co2e_g)))
    assert (screen.actions, screen.co2e_g) == (34, total)


async def test_a_closed_contest_shows_its_last_week(
    session: AsyncSession, settings: Settings, clock: ManualClock, seeded: Seeded
) -> None:
    contest = await session.get(Contest, seeded.contest_id)
    assert contest is not None
    contest.closed_at = clock.now() - timedelta(weeks=1)
    later = await dashboard.contest_screen(session, contest, clock.now(), settings.tz)
    assert later.week == THIS_WEEK - timedelta(weeks=1)
    assert later.week_actions == 6


async def test_backlogs_for_the_operators(session: AsyncSession, clock: ManualClock) -> None:
    now = clock.now()
    empty = await monitoring.backlogs(session, now, "worker")
    assert empty == monitoring.Backlogs(0, 0, 0, 0, 0.0, None)
    await outbox.enqueue(
        session, chat_id=1, kind="t", text="a", key="a", now=now - timedelta(minutes=2)
    )
    await outbox.enqueue(session, chat_id=2, kind="t", text="b", key="b", now=now)
    await outbox.enqueue(
        session,
        chat_id=3,
        kind="t",
        text="c",
        key="c",
        now=now,
        not_before=now + timedelta(hours=1),
    )
    await leases.acquire(
        session, "worker", "me", "host", 1, now, timedelta(seconds=30), lambda _: True
    )
    await session.commit()
    figures = await monitoring.backlogs(session, now, "worker")
    assert (figures.outbox_due, figures.outbox_waiting, figures.outbox_sending) == (2, 1, 0)
    assert figures.oldest_due_seconds == 120.0
    assert figures.lease_seconds_left == 30.0
    assert figures.inbox_pending == 0
