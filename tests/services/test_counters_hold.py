"""The weekly counters kept log by log (people's weeks, teams' weeks and active members,
challenges' weeks and contributions, people per number of actions and the leaderboard's
counts read from them) always equal what a recount from the logs gives,
whatever happens in between: random logs, undos, team and challenge joins and leaves,
erasures (/forget) and weeks rolling over. Hypothesis draws the stories; each runs on a
fresh copy of a migrated SQLite database."""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.weeks import week_of
from bot.services import actions, challenges, contests, erasure, leaderboard
from bot.services.users import TelegramProfile, upsert_user
from models import (
    ActionLog,
    ActionLogTeam,
    Challenge,
    ChallengeContribution,
    ChallengeParticipant,
    ChallengeScope,
    ChallengeWeek,
    WeekActionCount,
    WeekTeamMember,
    WeekTeamTotal,
    WeekUserTotal,
)
from models.database import create_engine, create_sessionmaker, upgrade

PARIS = ZoneInfo("Europe/Paris")
# Thursday 8 January 2026, 10:00 in Paris: a few days in, the week rolls over.
START = datetime(2026, 1, 8, 9, 0, tzinfo=UTC)
ORGANISER = 900
ORGANISERS = frozenset({ORGANISER})
PEOPLE = (1, 2, 3)
SLUGS = ("veggie_meal", "bike_trip", "tap_water", "vegan_meal")
# Minutes: within the undo window, past it, past a day, past a week.
TICKS = (3, 20, 60 * 26, 60 * 24 * 7)

Operation = tuple[str, int, int]
# Logs and undos most often (they move every counter), the rest now and then.
KINDS = (
    ("log",) * 5
    + ("undo",) * 3
    + ("join_team", "join_team", "leave_team", "join_challenge", "join_challenge")
    + ("leave_challenge", "forget", "tick", "tick")
)
operations = st.lists(
    st.tuples(st.sampled_from(KINDS), st.sampled_from(PEOPLE), st.integers(0, 3)),
    min_size=12,
    max_size=40,
)


@dataclass
class World:
    now: datetime
    teams: list[int] = field(default_factory=list)
    challenges: list[int] = field(default_factory=list)
    # Each person's logs, newest last (what an undo button points at).
    logs: dict[int, list[int]] = field(default_factory=dict)
    # What erased people had added: it stays in the teams' and challenges' weeks.
    erased_teams: Counter[tuple[date, int, str]] = field(default_factory=Counter)
    erased_challenges: Counter[tuple[int, date]] = field(default_factory=Counter)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database, copied for every story (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("counters") / "template.db"

    async def migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    return path


async def _setup(session: AsyncSession) -> World:
    world = World(now=START)
    for user_id in (ORGANISER, *PEOPLE):
        await upsert_user(session, TelegramProfile(user_id, f"P{user_id}", None, "fr"), START)
    campus = await contests.create_contest(session, "Campus", ORGANISER, ORGANISERS, START)
    other = await contests.create_contest(session, "Ville", ORGANISER, ORGANISERS, START)
    for chat_id, code in ((-1, campus.join_code), (-2, campus.join_code), (-3, other.join_code)):
        team, _, _ = await contests.register_team(
            session, code, chat_id, f"T{chat_id}", ORGANISER, START
        )
        world.teams.append(team.id)
    for scope, contest_id in ((ChallengeScope.EVERYONE, None), (ChallengeScope.CONTEST, campus.id)):
        draft = challenges.ChallengeDraft(
            title="Défi",
            description="",
            action_slugs=("veggie_meal", "vegan_meal", "bike_trip"),
            weekly_target=4,
            scope=scope,
            contest_id=contest_id,
            team_id=None,
            pledge="Un arbre planté",
            last_day=date(2026, 3, 1),
        )
        challenge = await challenges.create_challenge(
            session, draft, ORGANISER, ORGANISERS, START, PARIS
        )
        world.challenges.append(challenge.id)
    return world


async def _apply(session: AsyncSession, world: World, operation: Operation) -> None:
    kind, who, which = operation
    if who in world.logs and world.logs[who] == [-1]:
        return  # erased: their buttons are gone with them
    now = world.now
    if kind == "log":
        try:
            result = await actions.log_action(
                session, user_id=who, slug=SLUGS[which % len(SLUGS)], chat_id=who, now=now, tz=PARIS
            )
        except actions.DailyCapError:
            event("log capped")
            return
        world.logs.setdefault(who, []).append(result.log_id)
    elif kind == "undo":
        mine = world.logs.get(who, [])
        if not mine:
            event("undo: nothing logged")
            return
        log_id = mine[-1 - min(which % 2, len(mine) - 1)]
        try:
            await actions.undo_log(session, user_id=who, log_id=log_id, now=now, tz=PARIS)
        except (actions.UndoTooLateError, actions.UndoGoneError) as refused:
            event(f"undo refused: {type(refused).__name__}")
            return
        mine.remove(log_id)
        event("an undo")
    elif kind == "join_team":
        try:
            await contests.join_team(session, world.teams[which % 3], who, now)
        except contests.AlreadyInTeamError:
            return
    elif kind == "leave_team":
        try:
            await contests.leave_team(session, world.teams[which % 3], who)
        except contests.NotMemberError:
            return
    elif kind == "join_challenge":
        challenge_id = world.challenges[which % 2]
        try:
            await challenges.join_challenge(session, challenge_id, who, now)
        except challenges.NotEligibleError:
            return
        await challenges.count_earlier_logs(session, challenge_id, who, now, PARIS)
    elif kind == "leave_challenge":
        await challenges.leave_challenge(session, world.challenges[which % 2], who, now)
    elif kind == "forget":
        await _remember_what_stays(session, world, who)
        await erasure.forget(session, who, now)
        world.logs[who] = [-1]
    elif kind == "tick":
        world.now += timedelta(minutes=TICKS[which % len(TICKS)])
    await session.flush()


async def _remember_what_stays(session: AsyncSession, world: World, who: int) -> None:
    """Published aggregates keep an erased person's share: note it before they go."""
    members = await session.execute(
        select(WeekTeamMember.week_start, WeekTeamMember.team_id, WeekTeamMember.actions).where(
            WeekTeamMember.user_id == who
        )
    )
    for week, team_id, count in members.all():
        world.erased_teams[(week, team_id, "actions")] += count
        world.erased_teams[(week, team_id, "active_members")] += 1
    grams = await session.execute(
        select(ActionLog.week_start, ActionLogTeam.team_id, func.sum(ActionLog.co2e_g))
        .join(ActionLogTeam, ActionLogTeam.log_id == ActionLog.id)
        .where(ActionLog.user_id == who)
        .group_by(ActionLog.week_start, ActionLogTeam.team_id)
    )
    for week, team_id, total in grams.all():
        world.erased_teams[(week, team_id, "co2e_g")] += int(total)
    shares = await session.execute(
        select(
            ChallengeContribution.challenge_id,
            ChallengeContribution.week_start,
            ChallengeContribution.actions,
        ).where(ChallengeContribution.user_id == who)
    )
    for challenge_id, week, count in shares.all():
        world.erased_challenges[(challenge_id, week)] += count


async def _check(session: AsyncSession, world: World) -> None:
    people = {
        (row.week_start, row.user_id): (row.actions, row.co2e_g)
        for row in await session.scalars(select(WeekUserTotal))
    }
    recount_people = {
        (week, user): (count, grams)
        for week, user, count, grams in await session.execute(
            select(
                ActionLog.week_start, ActionLog.user_id, func.count(), func.sum(ActionLog.co2e_g)
            ).group_by(ActionLog.week_start, ActionLog.user_id)
        )
    }
    assert people == recount_people

    # People per number of actions each week, and the leaderboard's counts read from them.
    histogram = {
        (row.week_start, row.actions): row.people
        for row in await session.scalars(select(WeekActionCount))
        if row.people  # a row back at 0 people may stay
    }
    assert min(histogram.values(), default=0) >= 0
    assert histogram == Counter((week, count) for (week, _), (count, _) in recount_people.items())
    for week in {week for week, _ in recount_people} | {week_of(world.now, PARIS)}:
        for user_id in (*PEOPLE, ORGANISER):
            board = await leaderboard.people_board(session, week, user_id)
            mine = recount_people.get((week, user_id), (0, 0))[0]
            assert board.people == sum(1 for w, _ in recount_people if w == week)
            assert board.my_actions == mine
            ahead = sum(1 for (w, _), (n, _) in recount_people.items() if w == week and n > mine)
            assert board.my_rank == (ahead + 1 if mine else None)
            # /me passes the actions it read already: the same standing.
            known = await leaderboard.my_standing(session, week, user_id, mine)
            assert (known.actions, known.rank, known.people) == (
                mine,
                board.my_rank,
                board.people,
            )

    counted = select(ActionLog).join(ActionLogTeam, ActionLogTeam.log_id == ActionLog.id)
    members = {
        (row.week_start, row.team_id, row.user_id): row.actions
        for row in await session.scalars(select(WeekTeamMember))
    }
    recount_members = {
        (week, team, user): count
        for week, team, user, count in await session.execute(
            counted.with_only_columns(
                ActionLog.week_start, ActionLogTeam.team_id, ActionLog.user_id, func.count()
            ).group_by(ActionLog.week_start, ActionLogTeam.team_id, ActionLog.user_id)
        )
    }
    assert members == recount_members

    teams = {
        (row.week_start, row.team_id): (row.actions, row.co2e_g, row.active_members)
        for row in await session.scalars(select(WeekTeamTotal))
    }
    expected_teams: dict[tuple[date, int], tuple[int, int, int]] = {}
    for week, team, count, grams, active in await session.execute(
        counted.with_only_columns(
            ActionLog.week_start,
            ActionLogTeam.team_id,
            func.count(),
            func.sum(ActionLog.co2e_g),
            func.count(ActionLog.user_id.distinct()),
        ).group_by(ActionLog.week_start, ActionLogTeam.team_id)
    ):
        expected_teams[(week, team)] = (count, int(grams), active)
    for (week, team, column), amount in world.erased_teams.items():
        count, grams, active = expected_teams.get((week, team), (0, 0, 0))
        if column == "actions":
            count += amount
        elif column == "co2e_g":
            grams += amount
        else:
            active += amount
        expected_teams[(week, team)] = (count, grams, active)
    assert teams == {key: value for key, value in expected_teams.items() if value[0]}

    # A week's total is its contributions plus the shares of people erased since.
    contributions: Counter[tuple[int, date]] = Counter()
    for row in await session.scalars(select(ChallengeContribution)):
        contributions[(row.challenge_id, row.week_start)] += row.actions
    for (challenge_id, week), amount in world.erased_challenges.items():
        contributions[(challenge_id, week)] += amount
    totals = {
        (row.challenge_id, row.week_start): row.total
        for row in await session.scalars(select(ChallengeWeek))
    }
    assert {key: total for key, total in totals.items() if total} == {
        key: count for key, count in contributions.items() if count
    }

    # A contribution never counts more than the person's logs the challenge counts; for
    # someone taking part in the challenge open to everyone, exactly those of this week.
    everyone = await session.get(Challenge, world.challenges[0])
    assert everyone is not None
    week_now = week_of(world.now, PARIS)
    for row in await session.scalars(select(ChallengeContribution)):
        challenge = await session.get(Challenge, row.challenge_id)
        assert challenge is not None
        matching = await session.scalar(
            select(func.count())
            .select_from(ActionLog)
            .where(
                ActionLog.user_id == row.user_id,
                ActionLog.week_start == row.week_start,
                ActionLog.action_slug.in_(challenge.action_slugs),
                ActionLog.logged_at >= challenge.starts_at,
            )
        )
        assert row.actions <= int(matching or 0)
    participants = await session.scalars(
        select(ChallengeParticipant.user_id).where(ChallengeParticipant.challenge_id == everyone.id)
    )
    for user_id in participants:
        share = await session.get(ChallengeContribution, (everyone.id, week_now, user_id))
        matching = await session.scalar(
            select(func.count())
            .select_from(ActionLog)
            .where(
                ActionLog.user_id == user_id,
                ActionLog.week_start == week_now,
                ActionLog.action_slug.in_(everyone.action_slugs),
            )
        )
        assert (share.actions if share else 0) == int(matching or 0)


async def _story(path: Path, story: list[Operation]) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    sessions = create_sessionmaker(engine)
    try:
        async with sessions() as session:
            world = await _setup(session)
            await session.commit()
            for operation in story:
                await _apply(session, world, operation)
                await session.commit()
            # Whatever the last step, a new week's first read archives the old ones.
            await challenges.roll_over(session, world.now, PARIS)
            await session.commit()
            session.expire_all()
            await _check(session, world)
    finally:
        await engine.dispose()


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(story=operations)
def test_maintained_counters_equal_a_recount(
    template: Path, tmp_path: Path, story: list[Operation]
) -> None:
    copy = tmp_path / "story.db"
    shutil.copyfile(template, copy)
    asyncio.run(_story(copy, story))
