"""Scheduled nudges over a whole week in two time zones, driven by the jobs' functions and a
ManualClock: who gets what, when (local), quiet hours, the daily cap, opt-out, snooze,
blocked people, and restarts in the middle (nothing repeated, nothing lost)."""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.services import actions, nudges
from bot.services import weekly_nudges as plan
from bot.services.nudges import NudgeKind
from bot.ui.notices import nudges as nudging
from bot.worker import jobs
from models import (
    Challenge,
    ChallengeParticipant,
    ChallengeScope,
    NotificationPrefs,
    OutboxMessage,
    User,
)
from models.database import create_engine, create_sessionmaker, upgrade
from tests.conftest import make_settings
from tests.support.texts import tr

PARIS = ZoneInfo("Europe/Paris")
MONTREAL = ZoneInfo("America/Montreal")
WEEK = date(2026, 1, 5)  # a Monday

# People: id -> (time zone, what is special about them).
P1, P2, P3, P4, P5, LOGGER = 11, 12, 13, 14, 15, 16
M1, M2 = 21, 22
ZONES = {
    P1: "Europe/Paris",
    P2: "Europe/Paris",  # switched the mid-week nudge off
    P3: "Europe/Paris",  # blocked the bot
    P4: "Europe/Paris",  # quiet hours 07:00-10:00
    P5: None,  # no zone: the configured one; a pickup reminder already took Monday
    LOGGER: "Europe/Paris",  # logs the actions that cross the milestones
    M1: "America/Montreal",
    M2: "America/Montreal",  # snoozes on Monday
}


def at(zone: ZoneInfo, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=zone).astimezone(UTC)


async def _setup(session: AsyncSession, now: datetime) -> None:
    for user_id, zone in ZONES.items():
        session.add(
            User(
                id=user_id,
                first_name=f"U{user_id}",
                timezone=zone,
                language="en" if zone == "America/Montreal" else None,
                is_active=user_id != P3,
                created_at=now,
                last_seen_at=now,
            )
        )
    # Not in any challenge: no kick-off (nothing to join? everyone-scope, so yes) …
    session.add(
        Challenge(
            title="Veggie <week>",
            description="",
            action_slugs=["veggie_meal", "bike_trip"],
            weekly_target=4,
            scope=ChallengeScope.EVERYONE,
            starts_at=at(PARIS, 1, 0),
            ends_at=at(PARIS, 31, 0),
            created_by=1,
            created_at=at(PARIS, 1, 0),
            pledge_met_weeks=0,
        )
    )
    await session.flush()
    for user_id in ZONES:
        session.add(ChallengeParticipant(challenge_id=1, user_id=user_id, joined_at=now))
    session.add(
        NotificationPrefs(
            user_id=P2, quiet_start=22 * 60, quiet_end=8 * 60, daily_cap=1, opted_out=["midweek"]
        )
    )
    session.add(
        NotificationPrefs(
            user_id=P4, quiet_start=7 * 60, quiet_end=10 * 60, daily_cap=1, opted_out=[]
        )
    )
    await session.commit()
    user = await session.get(User, P5)
    assert user is not None
    decision = await nudges.enqueue_nudge(
        session,
        user,
        NudgeKind.PICKUP,
        text="pickup",
        key="test:pickup",
        now=at(PARIS, 5, 8, 30),
        default_timezone="Europe/Paris",
    )
    assert decision.allowed
    await session.commit()


class World:
    """The worker's side: an engine, a job context; `restart` replaces both."""

    def __init__(self, settings: Settings, clock: ManualClock) -> None:
        self.settings = settings
        self.clock = clock
        self.engine: AsyncEngine | None = None
        self.context: jobs.JobContext | None = None

    async def start(self) -> async_sessionmaker[AsyncSession]:
        self.engine = create_engine(self.settings.database_url)
        sessionmaker = create_sessionmaker(self.engine)
        self.context = jobs.JobContext(self.settings, sessionmaker, self.clock, tr)
        jobs.install(self.context)
        return sessionmaker

    async def stop(self) -> None:
        if self.context is not None:
            jobs.uninstall(self.context)
        if self.engine is not None:
            await self.engine.dispose()

    async def restart(self) -> async_sessionmaker[AsyncSession]:
        await self.stop()
        return await self.start()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for started in _world(make_settings(tmp_path, timezone="Europe/Paris")):
        yield started


@pytest.fixture
async def pg_world(tmp_path: Path, postgres_url: str) -> AsyncIterator[World]:
    settings = make_settings(tmp_path, timezone="Europe/Paris", database_url=postgres_url)
    async for started in _world(settings):
        yield started


async def _world(settings: Settings) -> AsyncIterator[World]:
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    await engine.dispose()
    clock = ManualClock(at(PARIS, 5, 0))
    world = World(settings, clock)
    sessionmaker = await world.start()
    async with sessionmaker() as session:
        await _setup(session, clock.now())
    yield world
    await world.stop()


async def _log(sessionmaker: async_sessionmaker[AsyncSession], now: datetime, times: int) -> None:
    async with sessionmaker() as session:
        for _ in range(times):
            await actions.log_action(
                session, user_id=LOGGER, slug="veggie_meal", chat_id=LOGGER, now=now, tz=PARIS
            )
        await session.commit()


async def _rows(sessionmaker: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sessionmaker() as session:
        return list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.idempotency_key != "test:pickup")
                .order_by(OutboxMessage.id)
            )
        )


def _local(row: OutboxMessage) -> tuple[int, str, str]:
    zone = MONTREAL if row.chat_id in (M1, M2) else PARIS
    return (
        row.chat_id,
        row.kind.removeprefix("nudge."),
        row.not_before.astimezone(zone).strftime("%a %d %H:%M"),
    )


async def test_a_week_of_nudges_in_two_time_zones(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _walk_a_week(world, monkeypatch)


async def test_a_week_of_nudges_on_postgres(
    pg_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _walk_a_week(pg_world, monkeypatch)


async def _walk_a_week(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = world.clock
    assert world.context is not None
    sessionmaker = world.context.sessionmaker
    step = timedelta(hours=1)
    end = at(PARIS, 12, 6)
    logs = {at(PARIS, 6, 12): 2, at(PARIS, 8, 12): 2}  # Tuesday 50 %, Thursday 100 %
    crash_at = at(PARIS, 5, 9)  # the Paris kick-off tick dies half-way
    restart_at = at(MONTREAL, 7, 18)  # a new worker at Montréal's mid-week hour
    snooze_at = at(PARIS, 5, 20)

    real_render = nudging.render_kickoff
    failed: list[int] = []

    def flaky_render(*args: Any) -> Any:
        user = args[2]
        if user.id == P2 and not failed:
            failed.append(user.id)
            raise RuntimeError("worker killed")
        return real_render(*args)

    while clock.now() <= end:
        now = clock.now()
        if now in logs:
            await _log(sessionmaker, now, logs[now])
        if now == snooze_at:
            async with sessionmaker() as session:
                await nudges.snooze_week(session, M2, now)
                await session.commit()
        if now == crash_at:
            monkeypatch.setattr(nudging, "render_kickoff", flaky_render)
            with pytest.raises(RuntimeError):
                await jobs.nudge_tick()
            monkeypatch.setattr(nudging, "render_kickoff", real_render)
            partial = await _rows(sessionmaker)
            # Some were queued before the crash, not all of them.
            assert 0 < len(partial) < 4
            sessionmaker = await world.restart()
        if now == restart_at:
            sessionmaker = await world.restart()
            await jobs.nudge_tick()  # the same tick twice: nothing more
        await jobs.nudge_tick()
        clock.advance(step)

    rows = await _rows(sessionmaker)
    got = sorted(_local(row) for row in rows)
    expected = sorted(
        [
            # Monday kick-offs: 09:00 local; P4 after its quiet hours; P5 capped (pickup).
            (P1, "kickoff", "Mon 05 09:00"),
            (P2, "kickoff", "Mon 05 09:00"),
            (P4, "kickoff", "Mon 05 10:00"),
            (LOGGER, "kickoff", "Mon 05 09:00"),
            (M1, "kickoff", "Mon 05 09:00"),
            (M2, "kickoff", "Mon 05 09:00"),
            # Tuesday 12:00 Paris: 50 %; 06:00 in Montréal is quiet, so 08:00 there.
            *[(p, "milestone", "Tue 06 12:00") for p in (P1, P2, P4, P5, LOGGER)],
            (M1, "milestone", "Tue 06 08:00"),
            # Wednesday 18:00 local, to participants with nothing logged (not P2: off).
            (P1, "midweek", "Wed 07 18:00"),
            (P4, "midweek", "Wed 07 18:00"),
            (P5, "midweek", "Wed 07 18:00"),
            (M1, "midweek", "Wed 07 18:00"),
            # Thursday: 100 %.
            *[(p, "milestone", "Thu 08 12:00") for p in (P1, P2, P4, P5, LOGGER)],
            (M1, "milestone", "Thu 08 08:00"),
            # Sunday 19:00 local.
            *[(p, "summary", "Sun 11 19:00") for p in (P1, P2, P4, P5, LOGGER)],
            (M1, "summary", "Sun 11 19:00"),
            # The walk starts on Sunday 18:00 in Montréal: last week's summary, at 19:00.
            (M1, "summary", "Sun 04 19:00"),
            (M2, "summary", "Sun 04 19:00"),
        ]
    )
    assert got == expected
    # Never two on one local day, none to the blocked person, none in quiet hours.
    days = collections.Counter((c, when.split()[1]) for c, _, when in got)
    assert max(days.values()) == 1
    assert P3 not in {c for c, _, _ in got}
    for row in rows:
        zone = MONTREAL if row.chat_id in (M1, M2) else PARIS
        local = row.not_before.astimezone(zone)
        assert 8 <= local.hour < 22
        assert "nz" in str(row.reply_markup)  # the snooze button
    # The texts: the person's language, escaped titles, the right week's figures.
    summary = next(r for r in rows if r.chat_id == LOGGER and r.kind == "nudge.summary")
    assert "<b>4 éco-gestes</b>" in summary.text and "Veggie &lt;week&gt;" in summary.text
    *_, montreal = (r for r in rows if r.chat_id == M1 and r.kind == "nudge.summary")
    assert "Your challenges" in montreal.text and "4 / 4" in montreal.text
    midweek = next(r for r in rows if r.chat_id == P1 and r.kind == "nudge.midweek")
    assert midweek.reply_markup is not None
    taps = [b["callback_data"] for row in midweek.reply_markup["inline_keyboard"] for b in row]
    assert taps[:2] == ["al:0", "al:6"]  # veggie_meal, bike_trip: /act's own log buttons


async def test_due_rules_catch_up_the_same_day_only() -> None:
    kickoff = plan.SLOTS[0]
    assert not plan.is_due(kickoff, at(PARIS, 5, 8, 59), PARIS)
    assert plan.is_due(kickoff, at(PARIS, 5, 9), PARIS)
    # A worker back at 11:00 still sends it; one back on Tuesday does not.
    assert plan.is_due(kickoff, at(PARIS, 5, 11), PARIS)
    assert plan.is_due(kickoff, at(PARIS, 5, 23, 59), PARIS)
    assert not plan.is_due(kickoff, at(PARIS, 6, 9), PARIS)
    # Montréal's Monday 09:00 is Paris's 15:00.
    assert not plan.is_due(kickoff, at(PARIS, 5, 14, 59), MONTREAL)
    assert plan.is_due(kickoff, at(PARIS, 5, 15), MONTREAL)
    assert plan.reached(1, 4) is None
    assert plan.reached(2, 4) == 50
    assert plan.reached(9, 10) == 90
    assert plan.reached(5, 4) == 100


async def test_a_worker_down_all_monday_sends_no_kickoff_on_tuesday(world: World) -> None:
    world.clock.set(at(PARIS, 6, 9))
    await jobs.nudge_tick()
    assert world.context is not None
    assert await _rows(world.context.sessionmaker) == []
    world.clock.set(at(PARIS, 12, 9, 5))
    await jobs.nudge_tick()
    kinds = {row.kind for row in await _rows(world.context.sessionmaker)}
    assert kinds == {"nudge.kickoff"}
