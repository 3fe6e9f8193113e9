"""Eco-actions, challenges, contests and leaderboards at the service level, on SQLite and
(when GREENHOOD_TEST_POSTGRES_URL is set) on PostgreSQL."""

from __future__ import annotations

import gzip
import os
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.services import actions, challenges, contests, leaderboard, reports, users
from bot.services.users import TelegramProfile, upsert_user
from bot.ui.notices import pledges as pledge_notices
from models import (
    ActionLog,
    ChallengeContribution,
    ChallengeScope,
    ChallengeWeek,
    OutboxMessage,
    User,
    WeekTeamMember,
    WeekTeamTotal,
    WeekUserTotal,
)
from models.base import NOBODY
from models.database import create_engine, create_sessionmaker, upgrade
from tests.support.texts import tr

PARIS = ZoneInfo("Europe/Paris")
ORGANISER = 500
ORGANISERS = frozenset({ORGANISER})
# Monday 5 January 2026, 10:00 in Paris.
MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, settings: Settings) -> str:
    if request.param == "sqlite":
        return settings.database_url
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(db_url)
    await upgrade(engine)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def person(session: AsyncSession, user_id: int, name: str = "P") -> int:
    await upsert_user(session, TelegramProfile(user_id, name, None, "fr"), MONDAY)
    return user_id


def draft(**overrides: object) -> challenges.ChallengeDraft:
    values: dict[str, object] = {
        "title": "Semaine végé",
        "description": "Moins de viande",
        "action_slugs": ("veggie_meal", "vegan_meal"),
        "weekly_target": 3,
        "scope": ChallengeScope.EVERYONE,
        "contest_id": None,
        "team_id": None,
        "pledge": "La cantine sert un menu végé de plus",
        "last_day": date(2026, 3, 1),
    }
    values.update(overrides)
    return challenges.ChallengeDraft(**values)  # type: ignore[arg-type]


async def log(
    session: AsyncSession, user_id: int, slug: str, now: datetime, chat_id: int | None = None
) -> actions.LogResult:
    return await actions.log_action(
        session, user_id=user_id, slug=slug, chat_id=chat_id or user_id, now=now, tz=PARIS
    )


async def test_log_counts_co2e_in_grams_and_the_week(
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as session:
        alice = await person(session, 1)
        first = await log(session, alice, "veggie_meal", MONDAY)
        second = await log(session, alice, "rainwater_garden", MONDAY)
        await session.commit()
    assert first.co2e_g == 3900
    assert second.co2e_g == 7
    assert (second.week_actions, second.week_co2e_g) == (2, 3907)
    async with db() as session:
        figures = await actions.my_figures(session, alice, MONDAY, PARIS)
    assert figures.week_actions == 2
    assert figures.total_co2e_g == 3907
    assert figures.streak_weeks == 1


async def test_daily_cap_is_per_local_day(db: async_sessionmaker[AsyncSession]) -> None:
    clock = ManualClock(datetime(2026, 1, 5, 22, 0, tzinfo=UTC))  # 23:00 in Paris
    async with db() as session:
        alice = await person(session, 1)
        action = (await log(session, alice, "remote_work", clock.now())).action
        assert action.daily_cap == 1
        with pytest.raises(actions.DailyCapError) as caught:
            await log(session, alice, "remote_work", clock.now())
        assert caught.value.logged_today == 1
        # Another action is not capped by this one.
        await log(session, alice, "bike_trip", clock.now())
        # 00:00 in Paris is a new day although it is still the 5th in UTC.
        clock.advance(timedelta(hours=1))
        await log(session, alice, "remote_work", clock.now())
        with pytest.raises(actions.UnknownActionError):
            await log(session, alice, "teleport", clock.now())
        await session.commit()
        count = await session.scalar(select(func.count()).select_from(ActionLog))
    assert count == 3


async def test_streak_and_totals_over_weeks(db: async_sessionmaker[AsyncSession]) -> None:
    clock = ManualClock(MONDAY)
    async with db() as session:
        alice = await person(session, 1)
        for _ in range(3):
            await log(session, alice, "bike_trip", clock.now())
            clock.advance(timedelta(days=7))
        # A week without anything, then one more.
        clock.advance(timedelta(days=7))
        await log(session, alice, "bike_trip", clock.now())
        figures = await actions.my_figures(session, alice, clock.now(), PARIS)
        assert (figures.streak_weeks, figures.total_actions) == (1, 4)
        # The following week, before logging: the streak still stands.
        clock.advance(timedelta(days=7))
        figures = await actions.my_figures(session, alice, clock.now(), PARIS)
        assert (figures.streak_weeks, figures.week_actions) == (1, 0)
        assert figures.total_co2e_g == 4 * 1100


async def test_challenge_progress_pledge_told_once_and_rollover(
    db: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(MONDAY)
    async with db() as session:
        alice, bob = await person(session, 1), await person(session, 2)
        await person(session, ORGANISER)
        challenge = await challenges.create_challenge(
            session, draft(), ORGANISER, ORGANISERS, clock.now(), PARIS
        )
        assert await challenges.join_challenge(session, challenge.id, alice, clock.now())
        assert not await challenges.join_challenge(session, challenge.id, alice, clock.now())
        assert await challenges.join_challenge(session, challenge.id, bob, clock.now())
        result = await log(session, alice, "veggie_meal", clock.now())
        assert [(v.challenge.id, v.week_total) for v in result.challenges] == [(challenge.id, 1)]
        # An action the challenge does not count.
        assert (await log(session, alice, "bike_trip", clock.now())).challenges == []
        await log(session, alice, "vegan_meal", clock.now())
        met = await log(session, bob, "veggie_meal", clock.now())
        assert [p.challenge.id for p in met.pledges_met] == [challenge.id]
        again = await log(session, bob, "vegan_meal", clock.now())
        assert again.pledges_met == []
        assert again.challenges[0].week_total == 4
        await session.commit()

    # Sunday 23:59 local: still the same week, nothing archived.
    clock.set(datetime(2026, 1, 11, 22, 59, tzinfo=UTC))
    async with db() as session:
        view = await challenges.challenge_view(session, challenge.id, alice, clock.now(), PARIS)
        assert view.week_total == 4
        await session.commit()
    # Monday 00:00 local: last week is archived, the new one starts at 0.
    clock.advance(timedelta(minutes=1))
    async with db() as session:
        assert await challenges.roll_over(session, clock.now(), PARIS) == 1
        assert await challenges.roll_over(session, clock.now(), PARIS) == 0
        view = await challenges.challenge_view(session, challenge.id, alice, clock.now(), PARIS)
        assert view.week_total == 0
        weeks = await challenges.week_history(session, challenge.id)
        await session.commit()
    assert [(w.week_start, w.total, w.pledge_met, w.archived_at is not None) for w in weeks] == [
        (date(2026, 1, 5), 4, True, True),
        (date(2026, 1, 12), 0, False, False),
    ]
    # The new week's pledge can be met (and told) again.
    async with db() as session:
        for slug in ("veggie_meal", "vegan_meal"):
            await log(session, alice, slug, clock.now())
        result = await log(session, bob, "veggie_meal", clock.now())
        assert len(result.pledges_met) == 1
        await session.commit()


async def test_pledge_met_queues_one_outbox_notice_a_week(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """The notice is queued in the log's transaction, in the organiser's language, with a
    key naming the challenge and the week: logs past the target, or the same pledges
    queued again (a redelivered update), leave one message."""
    translator = tr
    clock = ManualClock(MONDAY)
    async with db() as session:
        alice = await person(session, 1)
        await upsert_user(session, TelegramProfile(ORGANISER, "Orga", None, "en"), MONDAY)
        challenge = await challenges.create_challenge(
            session, draft(), ORGANISER, ORGANISERS, clock.now(), PARIS
        )
        await challenges.join_challenge(session, challenge.id, alice, clock.now())
        queued = []
        for slug in ("veggie_meal", "vegan_meal", "veggie_meal", "vegan_meal", "veggie_meal"):
            result = await log(session, alice, slug, clock.now())
            queued.append(
                await pledge_notices.enqueue(session, translator, result.pledges_met, clock.now())
            )
            if result.pledges_met:
                met = result.pledges_met
        # Only the third log met the pledge; the fourth and fifth are past the target.
        assert queued == [0, 0, 1, 0, 0]
        assert await pledge_notices.enqueue(session, translator, met, clock.now()) == 0
        await session.commit()
    async with db() as session:
        rows = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.idempotency_key.startswith("pledge:"))
            )
        )
    assert [(m.chat_id, m.kind, m.idempotency_key, m.status) for m in rows] == [
        (ORGANISER, "pledge.met", f"pledge:{challenge.id}:2026-01-05", "pending")
    ]
    assert rows[0].text == translator.t(
        "challenges.pledge_met_notice",
        "en",
        title="Semaine végé",
        total=3,
        target=3,
        pledge="La cantine sert un menu végé de plus",
    )

    # Next week the pledge is met again: a new notice, under that week's key.
    clock.advance(timedelta(days=7))
    async with db() as session:
        for slug in ("veggie_meal", "vegan_meal", "veggie_meal"):
            result = await log(session, alice, slug, clock.now())
            await pledge_notices.enqueue(session, translator, result.pledges_met, clock.now())
        await session.commit()
        keys = await session.scalars(
            select(OutboxMessage.idempotency_key)
            .where(OutboxMessage.idempotency_key.startswith("pledge:"))
            .order_by(OutboxMessage.id)
        )
        assert list(keys) == [
            f"pledge:{challenge.id}:2026-01-05",
            f"pledge:{challenge.id}:2026-01-12",
        ]


async def test_pledge_notice_skips_an_organiser_who_is_gone(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """An organiser who blocked the bot, or erased their data (the challenge outlives them
    under NOBODY), is not queued a notice; the week still counts as met."""
    translator = tr
    async with db() as session:
        alice = await person(session, 1)
        organiser = await session.get(User, await person(session, ORGANISER))
        assert organiser is not None
        blocked = await challenges.create_challenge(
            session, draft(weekly_target=1), ORGANISER, ORGANISERS, MONDAY, PARIS
        )
        orphan = await challenges.create_challenge(
            session, draft(weekly_target=1), ORGANISER, ORGANISERS, MONDAY, PARIS
        )
        orphan.created_by = NOBODY
        organiser.is_active = False
        for challenge in (blocked, orphan):
            await challenges.join_challenge(session, challenge.id, alice, MONDAY)
        result = await log(session, alice, "veggie_meal", MONDAY)
        assert {met.challenge.id for met in result.pledges_met} == {blocked.id, orphan.id}
        assert await pledge_notices.enqueue(session, translator, result.pledges_met, MONDAY) == 0
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_rollover_fills_weeks_nobody_looked_at(
    db: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(MONDAY)
    async with db() as session:
        await person(session, ORGANISER)
        await challenges.create_challenge(
            session, draft(), ORGANISER, ORGANISERS, clock.now(), PARIS
        )
        await session.commit()
    clock.advance(timedelta(days=21))
    async with db() as session:
        assert await challenges.roll_over(session, clock.now(), PARIS) == 3
        await session.commit()
        rows = await session.scalars(
            select(ChallengeWeek.week_start)
            .where(ChallengeWeek.archived_at.is_not(None))
            .order_by(ChallengeWeek.week_start)
        )
        assert list(rows) == [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19)]


async def test_scope_and_forbidden_joins(db: async_sessionmaker[AsyncSession]) -> None:
    now = MONDAY
    async with db() as session:
        alice, bob = await person(session, 1), await person(session, 2)
        await person(session, ORGANISER)
        contest = await contests.create_contest(session, "Campus", ORGANISER, ORGANISERS, now)
        with pytest.raises(users.NotOrganiserError):
            await contests.create_contest(session, "Nope", alice, ORGANISERS, now)
        team, _, created = await contests.register_team(
            session, contest.join_code.lower(), -100, "IUT", alice, now
        )
        assert created
        await contests.join_team(session, team.id, alice, now)
        scoped = await challenges.create_challenge(
            session,
            draft(scope=ChallengeScope.TEAM, team_id=team.id, pledge=None),
            ORGANISER,
            ORGANISERS,
            now,
            PARIS,
        )
        assert await challenges.join_challenge(session, scoped.id, alice, now)
        with pytest.raises(challenges.NotEligibleError):
            await challenges.join_challenge(session, scoped.id, bob, now)
        visible = await challenges.visible_challenges(session, bob, now, PARIS)
        assert visible == []
        await challenges.delete_challenge(session, scoped.id, ORGANISER, ORGANISERS, now)
        with pytest.raises(challenges.ChallengeNotFoundError):
            await challenges.join_challenge(session, scoped.id, alice, now)
        with pytest.raises(challenges.ChallengeNotFoundError):
            await challenges.leave_challenge(session, 9999, alice, now)
        await contests.close_contest(session, contest.id, ORGANISER, ORGANISERS, now)
        with pytest.raises(contests.ContestClosedError):
            await contests.join_team(session, team.id, bob, now)
        with pytest.raises(contests.ContestClosedError):
            await contests.register_team(session, contest.join_code, -200, "X", bob, now)
        # Logs no longer count for a closed contest's team.
        result = await log(session, alice, "bike_trip", now)
        assert result.teams == []


async def test_one_team_per_contest(db: async_sessionmaker[AsyncSession]) -> None:
    now = MONDAY
    async with db() as session:
        alice = await person(session, 1)
        await person(session, ORGANISER)
        contest = await contests.create_contest(session, "Campus", ORGANISER, ORGANISERS, now)
        other = await contests.create_contest(session, "Autre", ORGANISER, ORGANISERS, now)
        a, _, _ = await contests.register_team(session, contest.join_code, -1, "A", alice, now)
        b, _, _ = await contests.register_team(session, contest.join_code, -2, "B", alice, now)
        c, _, _ = await contests.register_team(session, other.join_code, -1, "C", alice, now)
        assert (await contests.join_team(session, a.id, alice, now))[1]
        assert not (await contests.join_team(session, a.id, alice, now))[1]
        with pytest.raises(contests.AlreadyInTeamError) as caught:
            await contests.join_team(session, b.id, alice, now)
        assert caught.value.team_name == "A"
        assert (await contests.join_team(session, c.id, alice, now))[1]
        # A private log counts for both teams, one per contest.
        result = await log(session, alice, "bike_trip", now)
        assert sorted(t.membership.team.id for t in result.teams) == sorted([a.id, c.id])


async def test_teams_ranked_per_active_member(db: async_sessionmaker[AsyncSession]) -> None:
    now = MONDAY
    async with db() as session:
        await person(session, ORGANISER)
        contest = await contests.create_contest(session, "Campus", ORGANISER, ORGANISERS, now)
        big, _, _ = await contests.register_team(session, contest.join_code, -1, "Big", 1, now)
        small, _, _ = await contests.register_team(session, contest.join_code, -2, "Small", 1, now)
        await contests.register_team(session, contest.join_code, -3, "Idle", 1, now)
        # Big: 4 active members with 2 actions each (8 in all, 2 per member).
        for uid in range(10, 14):
            await person(session, uid)
            await contests.join_team(session, big.id, uid, now)
            await log(session, uid, "bike_trip", now)
            await log(session, uid, "public_transport", now)
        # A fifth member of Big who logs nothing does not count as active.
        await person(session, 14)
        await contests.join_team(session, big.id, 14, now)
        # Small: 1 active member with 3 actions (3 per member) wins despite fewer actions.
        await person(session, 20)
        await contests.join_team(session, small.id, 20, now)
        for slug in ("bike_trip", "public_transport", "veggie_meal"):
            await log(session, 20, slug, now)
        await session.commit()
        board = await leaderboard.team_board(session, contest, date(2026, 1, 5), small.id)
    assert [(r.rank, r.name, r.actions, r.active_members) for r in board.rows] == [
        (1, "Small", 3, 1),
        (2, "Big", 8, 4),
        (3, "Idle", 0, 0),
    ]
    assert board.mine is not None and board.mine.rank == 1
    assert board.rows[1].per_member == 2.0


async def test_people_board_names_only_those_who_agreed(
    db: async_sessionmaker[AsyncSession],
) -> None:
    now = MONDAY
    async with db() as session:
        for uid, count in ((1, 3), (2, 1), (3, 3), (4, 2)):
            await person(session, uid, f"P{uid}")
            for slug in ("bike_trip", "public_transport", "veggie_meal")[:count]:
                await log(session, uid, slug, now)
        await actions.set_show_name(session, 3, True)
        await session.commit()
        board = await leaderboard.people_board(session, date(2026, 1, 5), 2)
    assert [(r.rank, r.user_id, r.name, r.actions) for r in board.rows] == [
        # Equal counts share a rank (then by CO2e, then by id).
        (1, 1, None, 3),
        (1, 3, "P3", 3),
        (3, 4, None, 2),
        (4, 2, None, 1),
    ]
    assert (board.people, board.my_rank, board.my_actions) == (4, 4, 1)


async def test_stats_and_exports_agree(
    db: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    clock = ManualClock(MONDAY)
    async with db() as session:
        await person(session, ORGANISER)
        alice, bob = await person(session, 777001), await person(session, 777002)
        contest = await contests.create_contest(session, "Campus", ORGANISER, ORGANISERS, MONDAY)
        team, _, _ = await contests.register_team(session, contest.join_code, -1, "A", 1, MONDAY)
        await contests.join_team(session, team.id, alice, MONDAY)
        challenge = await challenges.create_challenge(
            session, draft(), ORGANISER, ORGANISERS, MONDAY, PARIS
        )
        await challenges.join_challenge(session, challenge.id, bob, MONDAY)
        await log(session, alice, "bike_trip", clock.now())
        await log(session, bob, "veggie_meal", clock.now())
        clock.advance(timedelta(days=7))
        await log(session, alice, "train_not_plane", clock.now(), chat_id=-1)
        await log(session, bob, "veggie_meal", clock.now())
        figures = await reports.stats(session, ORGANISER, ORGANISERS, clock.now(), PARIS)
        files = await reports.export_all(
            session, ORGANISER, ORGANISERS, clock.now(), PARIS, tmp_path
        )
        with pytest.raises(users.NotOrganiserError):
            await reports.stats(session, alice, ORGANISERS, clock.now(), PARIS)
        team_weeks = await session.scalar(select(func.count()).select_from(WeekTeamTotal))
    assert (figures.users, figures.actions, figures.active_this_week) == (3, 4, 2)
    assert figures.co2e_g == 1100 + 3900 + 128000 + 3900
    assert figures.challenges[0].week_total == 1
    assert figures.challenges[0].weeks == 2
    by_name = {f.name: f for f in files}
    content = {f.name: f.path.read_text(encoding="utf-8-sig") for f in files}
    log_rows = content["action_log.csv"].splitlines()[1:]
    assert len(log_rows) == figures.actions
    co2e = sum(float(line.split(",")[5]) for line in log_rows)
    assert round(co2e * 1000) == figures.co2e_g
    assert {line.split(",")[6] for line in log_rows} == {"group", "private"}
    assert "77700" not in content["action_log.csv"]
    challenge_rows = content["challenge_progress.csv"].splitlines()
    assert [row.split(",")[3] for row in challenge_rows[1:]] == ["1", "1"]
    assert by_name["contest_standings.csv"].rows == team_weeks == 2


async def test_rebuild_matches_the_totals_kept_log_by_log(
    db: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(MONDAY)
    async with db() as session:
        await person(session, ORGANISER)
        contest = await contests.create_contest(session, "Campus", ORGANISER, ORGANISERS, MONDAY)
        other = await contests.create_contest(session, "Autre", ORGANISER, ORGANISERS, MONDAY)
        a, _, _ = await contests.register_team(session, contest.join_code, -1, "A", 1, MONDAY)
        b, _, _ = await contests.register_team(session, contest.join_code, -2, "B", 1, MONDAY)
        c, _, _ = await contests.register_team(session, other.join_code, -3, "C", 1, MONDAY)
        for uid in range(1, 7):
            await person(session, uid)
            await contests.join_team(session, (a, b)[uid % 2].id, uid, MONDAY)
            if uid < 3:
                await contests.join_team(session, c.id, uid, MONDAY)
        slugs = ("bike_trip", "veggie_meal", "tap_water", "cold_wash")
        for day in range(10):
            for uid in range(1, 8 if day else 7):
                if day == 1 and uid == 7:
                    await person(session, 7)
                if (uid + day) % 3:
                    await log(session, uid, slugs[(uid * day) % 4], clock.now())
            clock.advance(timedelta(days=1))

        async def snapshot() -> list[list[tuple[object, ...]]]:
            tables = []
            for model, order in (
                (WeekUserTotal, (WeekUserTotal.week_start, WeekUserTotal.user_id)),
                (
                    WeekTeamMember,
                    (WeekTeamMember.week_start, WeekTeamMember.team_id, WeekTeamMember.user_id),
                ),
                (WeekTeamTotal, (WeekTeamTotal.week_start, WeekTeamTotal.team_id)),
            ):
                rows = await session.execute(select(model.__table__).order_by(*order))
                tables.append([tuple(row) for row in rows])
            return tables

        kept = await snapshot()
        assert all(kept)
        await actions.rebuild_weekly_totals(session)
        assert await snapshot() == kept


async def test_big_exports_are_gzipped(
    session: AsyncSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reports, "GZIP_ABOVE", 10)
    await person(session, 1)
    await log(session, 1, "bike_trip", MONDAY)
    folder = tmp_path / "export"
    os.mkdir(folder)
    files = await reports.export_all(session, ORGANISER, ORGANISERS, MONDAY, PARIS, folder)
    exported = {f.name: f for f in files}
    assert set(exported) == {
        "contest_standings.csv.gz",
        "challenge_progress.csv.gz",
        "action_log.csv.gz",
    }
    with gzip.open(exported["action_log.csv.gz"].path, "rt", encoding="utf-8-sig") as handle:
        assert len(handle.read().splitlines()) == 2
    # The uncompressed files are gone.
    assert sorted(os.listdir(folder)) == sorted(exported)


async def test_equal_ratios_share_a_team_rank(db: async_sessionmaker[AsyncSession]) -> None:
    now = MONDAY
    async with db() as session:
        await person(session, ORGANISER)
        contest = await contests.create_contest(session, "Campus", ORGANISER, ORGANISERS, now)
        teams = [
            (await contests.register_team(session, contest.join_code, -n, f"T{n}", 1, now))[0]
            for n in (1, 2, 3)
        ]
        # T1: 2 actions by 1 member; T2: 4 by 2 (both 2.0, T2 listed first for its
        # bigger total); T3: 1 action.
        plan = {10: (teams[0], 2), 20: (teams[1], 2), 21: (teams[1], 2), 30: (teams[2], 1)}
        for uid, (team, count) in plan.items():
            await person(session, uid)
            await contests.join_team(session, team.id, uid, now)
            for slug in ("bike_trip", "public_transport")[:count]:
                await log(session, uid, slug, now)
        board = await leaderboard.team_board(session, contest, date(2026, 1, 5))
        # Fewer rows shown than teams: the reader's team keeps its rank, tied or not.
        short = {
            team.name: await leaderboard.team_board(
                session, contest, date(2026, 1, 5), team.id, limit=1
            )
            for team in teams
        }
    assert [(r.rank, r.name) for r in board.rows] == [(1, "T2"), (1, "T1"), (3, "T3")]
    for name, rank in (("T1", 1), ("T2", 1), ("T3", 3)):
        assert [(r.rank, r.name) for r in short[name].rows] == [(1, "T2")]
        assert short[name].teams == 3
        mine = short[name].mine
        assert mine is not None and (mine.rank, mine.name) == (rank, name)


@given(
    st.lists(
        st.tuples(st.integers(0, 100_000), st.integers(0, 100_000)),
        min_size=2,
        max_size=60,
    )
)
# Nearly equal ratios: 99,999/100,000 vs 99,998/99,999, and equal ones written apart.
@example([(99_999, 100_000), (99_998, 99_999), (1, 1), (3, 3), (99_999, 99_999)])
@example([(2, 4), (1, 2), (50_000, 100_000), (0, 0), (0, 7)])
def test_team_ranking_key_orders_exactly_like_fractions(teams: list[tuple[int, int]]) -> None:
    """The float key of the team sort against exact rational arithmetic, on the sizes the
    key's docstring promises (fewer than 100,000 active members and actions per member)."""
    rows = [
        (team_id, f"t{team_id}", min(actions, active * 100_000), active)
        for team_id, (actions, active) in enumerate(teams, start=1)
    ]
    rows = [row if row[3] else (row[0], row[1], 0, 0) for row in rows]
    exact = sorted(rows, key=lambda r: (-Fraction(r[2], max(r[3], 1)), -r[2], r[0]))
    assert sorted(rows, key=leaderboard._ranking_key) == exact


def test_a_run_of_weeks_ends_on_a_sunday() -> None:
    wednesday = date(2026, 12, 2)
    assert challenges.last_day_of_weeks(1, wednesday) == date(2026, 12, 6)
    assert challenges.last_day_of_weeks(4, wednesday) == date(2026, 12, 27)
    sunday = date(2026, 12, 6)
    assert challenges.last_day_of_weeks(1, sunday) == sunday
    with pytest.raises(challenges.InvalidDraftError):
        challenges.last_day_of_weeks(3, wednesday)


async def test_undo_takes_back_every_counter_the_log_moved(
    db: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(MONDAY)
    async with db() as session:
        await person(session, ORGANISER)
        alice, bob = await person(session, 1), await person(session, 2)
        contest = await contests.create_contest(session, "Campus", ORGANISER, ORGANISERS, MONDAY)
        team, _, _ = await contests.register_team(
            session, contest.join_code, -1, "A", alice, MONDAY
        )
        await contests.join_team(session, team.id, alice, MONDAY)
        challenge = await challenges.create_challenge(
            session, draft(weekly_target=2), ORGANISER, ORGANISERS, MONDAY, PARIS
        )
        await challenges.join_challenge(session, challenge.id, alice, MONDAY)
        first = await log(session, alice, "veggie_meal", clock.now())
        second = await log(session, alice, "veggie_meal", clock.now())
        # The second log met the pledge (2 of 2).
        assert [met.challenge.id for met in second.pledges_met] == [challenge.id]
        clock.advance(timedelta(minutes=5))

        # Someone else's button, a made-up id: nothing moves.
        for who, log_id in ((bob, second.log_id), (alice, 999_999)):
            with pytest.raises(actions.UndoGoneError):
                await actions.undo_log(
                    session, user_id=who, log_id=log_id, now=clock.now(), tz=PARIS
                )
        undone = await actions.undo_log(
            session, user_id=alice, log_id=second.log_id, now=clock.now(), tz=PARIS
        )
        assert (undone.week_actions, undone.week_co2e_g) == (1, first.co2e_g)
        assert undone.action is not None and undone.action.slug == "veggie_meal"
        # The same button twice: taken back once.
        with pytest.raises(actions.UndoGoneError):
            await actions.undo_log(
                session, user_id=alice, log_id=second.log_id, now=clock.now(), tz=PARIS
            )
        week = date(2026, 1, 5)
        assert await session.get(ChallengeWeek, (challenge.id, week)) is not None
        total = await session.scalar(
            select(ChallengeWeek.total).where(ChallengeWeek.challenge_id == challenge.id)
        )
        assert total == 1
        mine = await session.get(ChallengeContribution, (challenge.id, week, alice))
        assert mine is not None and mine.actions == 1
        team_week = await session.get(WeekTeamTotal, (week, team.id))
        assert team_week is not None
        assert (team_week.actions, team_week.co2e_g, team_week.active_members) == (
            1,
            first.co2e_g,
            1,
        )
        # The pledge stays met: its organiser was told, and it cannot be told twice.
        met = await session.get(ChallengeWeek, (challenge.id, week))
        assert met is not None and met.pledge_met
        # The last log of the week undone: no week, no streak, no active member.
        await actions.undo_log(
            session, user_id=alice, log_id=first.log_id, now=clock.now(), tz=PARIS
        )
        figures = await actions.my_figures(session, alice, clock.now(), PARIS)
        assert (figures.week_actions, figures.streak_weeks, figures.total_actions) == (0, 0, 0)
        team_id, challenge_id = team.id, challenge.id
        session.expire_all()  # read the rows again, not the objects loaded above
        assert await session.get(WeekUserTotal, (week, alice)) is None
        assert await session.get(WeekTeamMember, (week, team_id, alice)) is None
        assert await session.get(WeekTeamTotal, (week, team_id)) is None
        assert await session.get(ChallengeContribution, (challenge_id, week, alice)) is None
        logs = await session.scalar(select(func.count()).select_from(ActionLog))
        assert logs == 0
        # And the daily cap counts the undone ones out: the meal can be logged again.
        await log(session, alice, "veggie_meal", clock.now())


async def test_undo_is_refused_after_the_window_and_the_week(
    db: async_sessionmaker[AsyncSession],
) -> None:
    # Sunday 11 January 2026, 23:55 in Paris: the week ends in five minutes.
    sunday = datetime(2026, 1, 11, 22, 55, tzinfo=UTC)
    async with db() as session:
        alice = await person(session, 1)
        late = await log(session, alice, "bike_trip", MONDAY)
        with pytest.raises(actions.UndoTooLateError) as caught:
            await actions.undo_log(
                session,
                user_id=alice,
                log_id=late.log_id,
                now=MONDAY + actions.UNDO_WINDOW + timedelta(seconds=1),
                tz=PARIS,
            )
        assert caught.value.action is not None and caught.value.action.slug == "bike_trip"
        on_sunday = await log(session, alice, "bike_trip", sunday)
        with pytest.raises(actions.UndoTooLateError):
            await actions.undo_log(
                session,
                user_id=alice,
                log_id=on_sunday.log_id,
                now=sunday + timedelta(minutes=10),
                tz=PARIS,
            )
        figures = await actions.my_figures(session, alice, sunday, PARIS)
        assert figures.total_actions == 2
