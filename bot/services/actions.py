"""Logging eco-actions (PRODUCT.md §2.4) and a person's own figures (`/me`).

One log, one transaction: the log row, the teams it counts for, and every weekly
counter it moves (the person's week, each team's week, each challenge's week) are
written together, so the leaderboards read small maintained tables instead of scanning
the log.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal

from sqlalchemy import BigInteger, bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.weeks import day_bounds, streak, week_of
from bot.services.catalogue import Catalogue, EcoAction, default_catalogue
from bot.services.challenges import (
    ChallengeView,
    PledgeMet,
    record_progress,
    roll_over,
    running_joined,
    undo_progress,
)
from bot.services.contests import Membership, member_teams
from bot.services.counters import bump, bump_rows, drop_if_zero, take
from models import (
    ActionLog,
    ActionLogTeam,
    ActionProfile,
    Team,
    WeekActionCount,
    WeekTeamMember,
    WeekTeamTotal,
    WeekUserTotal,
)

GRAMS_PER_KG = 1000
# A mis-tap can be taken back for this long after the log (within the same week).
UNDO_WINDOW = timedelta(minutes=15)


class UnknownActionError(LookupError):
    pass


# Not frozen: Python sets __traceback__ on an exception as it travels.
@dataclass
class DailyCapError(Exception):
    """The person already logged this action as often as it can happen in a day."""

    action: EcoAction
    logged_today: int


@dataclass(frozen=True, slots=True)
class TeamWeek:
    membership: Membership
    actions: int
    active_members: int


@dataclass(frozen=True, slots=True)
class LogResult:
    action: EcoAction
    co2e_g: int
    week_actions: int
    week_co2e_g: int
    challenges: list[ChallengeView]
    teams: list[TeamWeek]
    pledges_met: list[PledgeMet]
    # The log row (an action logged at a place links to it).
    log_id: int = 0


class UndoGoneError(LookupError):
    """No such log of this person any more (undone already, or someone else's button)."""


# Not frozen: Python sets __traceback__ on an exception as it travels.
@dataclass
class UndoTooLateError(Exception):
    """The log is older than the undo window, or its week is over."""

    action: EcoAction | None


@dataclass(frozen=True, slots=True)
class Undone:
    action: EcoAction | None
    week_actions: int
    week_co2e_g: int


@dataclass(frozen=True, slots=True)
class MyFigures:
    week_actions: int
    week_co2e_g: int
    streak_weeks: int
    total_actions: int
    total_co2e_g: int
    show_name: bool


def grams(kilograms: Decimal) -> int:
    return int((kilograms * GRAMS_PER_KG).to_integral_value())


def action_at(index: int, catalogue: Catalogue | None = None) -> EcoAction:
    """The action at a position of the catalogue (what /act buttons carry)."""
    actions = (catalogue or default_catalogue()).actions
    if not 0 <= index < len(actions):
        raise UnknownActionError(index)
    return actions[index]


def index_of(action: EcoAction, catalogue: Catalogue | None = None) -> int:
    return (catalogue or default_catalogue()).actions.index(action)


async def logged_today(
    session: AsyncSession, user_id: int, slug: str, now: datetime, tz: tzinfo
) -> int:
    start, end = day_bounds(now, tz)
    count = await session.scalar(
        select(func.count())
        .select_from(ActionLog)
        .where(
            ActionLog.user_id == user_id,
            ActionLog.action_slug == slug,
            ActionLog.logged_at >= start,
            ActionLog.logged_at < end,
        )
    )
    return int(count or 0)


async def log_action(
    session: AsyncSession,
    *,
    user_id: int,
    slug: str,
    chat_id: int,
    now: datetime,
    tz: tzinfo,
    catalogue: Catalogue | None = None,
) -> LogResult:
    """Log one occurrence of the action `slug` for the person, within its daily cap."""
    action = (catalogue or default_catalogue()).by_slug(slug)
    if action is None:
        raise UnknownActionError(slug)
    already = await logged_today(session, user_id, slug, now, tz)
    if already >= action.daily_cap:
        raise DailyCapError(action, already)
    await roll_over(session, now, tz)
    week = week_of(now, tz)
    co2e_g = grams(action.co2e_kg)
    memberships = await member_teams(session, user_id)
    joined = await running_joined(session, user_id, now)
    # Every person with a log has a pseudonym for the anonymised export.
    await profile_of(session, user_id)
    # Reads above, writes below: SQLite's one writer at a time waits only for the writes.
    log = ActionLog(
        user_id=user_id,
        action_slug=action.slug,
        category=action.category.value,
        co2e_g=co2e_g,
        logged_at=now,
        week_start=week,
        chat_id=chat_id,
    )
    session.add(log)
    await session.flush()
    session.add_all(ActionLogTeam(log_id=log.id, team_id=m.team.id) for m in memberships)

    week_actions, week_co2e_g = await bump(
        session,
        WeekUserTotal,
        {"week_start": week, "user_id": user_id},
        {"actions": 1, "co2e_g": co2e_g},
        returning=("actions", "co2e_g"),
    )
    await _moved(session, week, week_actions - 1, week_actions)
    teams = [await _count_for_team(session, m, user_id, week, co2e_g) for m in memberships]
    challenges, pledges = await record_progress(session, joined, user_id, slug, week, memberships)
    return LogResult(
        action=action,
        co2e_g=co2e_g,
        week_actions=week_actions,
        week_co2e_g=week_co2e_g,
        challenges=challenges,
        teams=teams,
        pledges_met=pledges,
        log_id=log.id,
    )


async def _count_for_team(
    session: AsyncSession, membership: Membership, user_id: int, week: date, co2e_g: int
) -> TeamWeek:
    (mine,) = await bump(
        session,
        WeekTeamMember,
        {"week_start": week, "team_id": membership.team.id, "user_id": user_id},
        {"actions": 1},
        returning=("actions",),
    )
    # The member's first action for the team this week makes them one more active member.
    newly_active = 1 if mine == 1 else 0
    actions, active = await bump(
        session,
        WeekTeamTotal,
        {"week_start": week, "team_id": membership.team.id},
        {"actions": 1, "co2e_g": co2e_g, "active_members": newly_active},
        extra={"contest_id": membership.contest.id},
        returning=("actions", "active_members"),
    )
    return TeamWeek(membership, actions, active)


async def undo_log(
    session: AsyncSession,
    *,
    user_id: int,
    log_id: int,
    now: datetime,
    tz: tzinfo,
    catalogue: Catalogue | None = None,
) -> Undone:
    """Take back one of the person's own logs, made less than UNDO_WINDOW ago and this
    week: the log goes, and every counter it moved (the person's week, their teams' weeks
    and active members, the challenges' weeks and contributions) moves back with it.
    Checked here, whatever the button said: whose log it is, and that it is still there."""
    log = await session.scalar(
        select(ActionLog).where(ActionLog.id == log_id, ActionLog.user_id == user_id)
    )
    if log is None:
        raise UndoGoneError(log_id)
    action = (catalogue or default_catalogue()).by_slug(log.action_slug)
    if now - log.logged_at > UNDO_WINDOW or log.week_start != week_of(now, tz):
        raise UndoTooLateError(action)
    teams = list(
        await session.scalars(select(ActionLogTeam.team_id).where(ActionLogTeam.log_id == log.id))
    )
    # The delete is the claim: of two taps on the same button, only one takes anything back.
    claimed = await session.execute(
        delete(ActionLog).where(ActionLog.id == log.id).returning(ActionLog.id)
    )
    if claimed.first() is None:
        raise UndoGoneError(log_id)
    await undo_progress(session, log)
    for team_id in teams:
        await _uncount_for_team(session, team_id, user_id, log)
    mine = {"week_start": log.week_start, "user_id": user_id}
    left = await take(
        session,
        WeekUserTotal,
        mine,
        {"actions": 1, "co2e_g": log.co2e_g},
        returning=("actions", "co2e_g"),
    )
    await drop_if_zero(session, WeekUserTotal, mine, "actions")
    if left is not None:
        await _moved(session, log.week_start, left[0] + 1, left[0])
    week_actions, week_co2e_g = left or (0, 0)
    return Undone(action, week_actions, week_co2e_g)


async def _moved(session: AsyncSession, week: date, before: int, after: int) -> None:
    """A person went from `before` to `after` actions in `week` (0: no row): one person
    fewer at `before`, one more at `after`, in week_action_counts, in one statement (a log
    holds SQLite's single write lock while it runs). A row back at 0 people stays: it adds
    nothing to any sum, and deleting it would cost a statement more. Rows go in ascending
    order of `actions`, logs and undos alike (see bump_rows)."""
    changes = sorted(((before, -1), (after, 1)))
    rows = [
        {"week_start": week, "actions": actions, "people": change}
        for actions, change in changes
        if actions > 0
    ]
    await bump_rows(session, WeekActionCount, ("week_start", "actions"), "people", rows)


async def forget_weeks(session: AsyncSession, user_id: int) -> None:
    """Before a person is erased (their weekly rows go with them): they no longer count
    among the people of each of their weeks."""
    weeks = await session.execute(
        select(WeekUserTotal.week_start, WeekUserTotal.actions)
        .where(WeekUserTotal.user_id == user_id, WeekUserTotal.actions > 0)
        .order_by(WeekUserTotal.week_start)
    )
    for week, actions in weeks.all():
        await _moved(session, week, actions, 0)


async def _uncount_for_team(
    session: AsyncSession, team_id: int, user_id: int, log: ActionLog
) -> None:
    member = {"week_start": log.week_start, "team_id": team_id, "user_id": user_id}
    left = await take(session, WeekTeamMember, member, {"actions": 1}, returning=("actions",))
    await drop_if_zero(session, WeekTeamMember, member, "actions")
    # The member's last action of the week for the team gone: one active member fewer.
    inactive = 1 if left == (0,) else 0
    team = {"week_start": log.week_start, "team_id": team_id}
    await take(
        session,
        WeekTeamTotal,
        team,
        {"actions": 1, "co2e_g": log.co2e_g, "active_members": inactive},
    )
    await drop_if_zero(session, WeekTeamTotal, team, "actions")


# Built once with the person bound: building a statement (and its cache key) at every /me
# cost more CPU than running it.
_MY_WEEKS = select(WeekUserTotal.week_start, WeekUserTotal.actions, WeekUserTotal.co2e_g).where(
    WeekUserTotal.user_id == bindparam("user_id", type_=BigInteger), WeekUserTotal.actions > 0
)


async def my_figures(session: AsyncSession, user_id: int, now: datetime, tz: tzinfo) -> MyFigures:
    week = week_of(now, tz)
    rows = (await session.execute(_MY_WEEKS, {"user_id": user_id})).all()
    this_week = next((row for row in rows if row.week_start == week), None)
    profile = await session.get(ActionProfile, user_id)
    return MyFigures(
        week_actions=this_week.actions if this_week else 0,
        week_co2e_g=this_week.co2e_g if this_week else 0,
        streak_weeks=streak((row.week_start for row in rows), week),
        total_actions=sum(row.actions for row in rows),
        total_co2e_g=sum(row.co2e_g for row in rows),
        show_name=bool(profile and profile.show_name),
    )


async def profile_of(session: AsyncSession, user_id: int) -> ActionProfile:
    """The person's eco-action profile, created (with a fresh pseudonym) on first use."""
    profile = await session.get(ActionProfile, user_id)
    if profile is None:
        profile = ActionProfile(user_id=user_id, show_name=False, pseudonym=secrets.token_hex(6))
        session.add(profile)
        await session.flush()
    return profile


async def set_show_name(session: AsyncSession, user_id: int, show: bool) -> None:
    profile = await profile_of(session, user_id)
    profile.show_name = show


async def rebuild_weekly_totals(session: AsyncSession) -> None:
    """Recompute the people's and teams' weekly tables from the logs, in bulk.

    `log_action` keeps them up to date one log at a time; this is for bulk loads (the
    leaderboard benchmark) and repairs. It only knows the logs still there: the weeks of
    people erased since are recounted without them.
    """
    for model in (WeekUserTotal, WeekActionCount, WeekTeamMember, WeekTeamTotal):
        await session.execute(delete(model))
    await session.execute(
        insert(WeekUserTotal).from_select(
            ["week_start", "user_id", "actions", "co2e_g"],
            select(
                ActionLog.week_start, ActionLog.user_id, func.count(), func.sum(ActionLog.co2e_g)
            ).group_by(ActionLog.week_start, ActionLog.user_id),
        )
    )
    await session.execute(
        insert(WeekActionCount).from_select(
            ["week_start", "actions", "people"],
            select(WeekUserTotal.week_start, WeekUserTotal.actions, func.count()).group_by(
                WeekUserTotal.week_start, WeekUserTotal.actions
            ),
        )
    )
    counted = select(ActionLog).join(ActionLogTeam, ActionLogTeam.log_id == ActionLog.id)
    await session.execute(
        insert(WeekTeamMember).from_select(
            ["week_start", "team_id", "user_id", "actions"],
            counted.with_only_columns(
                ActionLog.week_start, ActionLogTeam.team_id, ActionLog.user_id, func.count()
            ).group_by(ActionLog.week_start, ActionLogTeam.team_id, ActionLog.user_id),
        )
    )
    await session.execute(
        insert(WeekTeamTotal).from_select(
            ["week_start", "team_id", "contest_id", "actions", "co2e_g", "active_members"],
            counted.join(Team, Team.id == ActionLogTeam.team_id)
            .with_only_columns(
                ActionLog.week_start,
                ActionLogTeam.team_id,
                Team.contest_id,
                func.count(),
                func.sum(ActionLog.co2e_g),
                func.count(ActionLog.user_id.distinct()),
            )
            .group_by(ActionLog.week_start, ActionLogTeam.team_id, Team.contest_id),
        )
    )
