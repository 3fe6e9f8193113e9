"""The organisers' dashboard and the public contest screens (PRODUCT.md §2.7): figures only.

The dashboard shows what `/stats` and `/export` already show, as weekly series: contest
standings (teams per active member) and their evolution, challenges' progress and pledges,
actions per week by category with the CO2e they avoided, offers posted / reserved /
picked up, and the moderation queue. No person appears in it: teams and challenges are
named, people are counted.

A contest screen is public (projected in a campus hall): its address carries a key
derived from a server secret, so only whoever was given the address can read it, and it
shows team totals only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from bot.core.weeks import ONE_WEEK, week_bounds, week_of
from bot.services import reports
from bot.services.catalogue import ActionCategory
from bot.services.challenges import last_day, participant_count, roll_over
from bot.services.leaderboard import TeamRow, team_board
from bot.services.users import require_organiser
from models import (
    ActionLog,
    Challenge,
    ChallengeWeek,
    Contest,
    ContestStatus,
    Maker,
    MakerStatus,
    Offer,
    OfferReport,
    OfferStatus,
    ReportStatus,
    Reservation,
    ReservationStatus,
    Team,
    TeamMember,
    User,
    WeekTeamTotal,
    WeekUserTotal,
)

WEEKS_SHOWN = 8
CONTESTS_SHOWN = 10
CHALLENGES_SHOWN = 20
STANDINGS_SHOWN = 10
TEAMS_CHARTED = 5
SCREEN_TEAMS_SHOWN = 12
SCREEN_KEY_LENGTH = 24
# "<contest id>-<key>", the last part of a screen's address.
SCREEN_ID = re.compile(rf"([0-9]{{1,12}})-([A-Za-z0-9_-]{{{SCREEN_KEY_LENGTH}}})")


@dataclass(frozen=True, slots=True)
class Overview:
    week: date
    users: int
    active_this_week: int
    actions: int
    week_actions: int
    co2e_g: int
    week_co2e_g: int


@dataclass(frozen=True, slots=True)
class TeamSeries:
    """A team's actions per active member, week by week (the dashboard's `weeks`)."""

    name: str
    per_member: list[float]


@dataclass(frozen=True, slots=True)
class ContestPanel:
    contest: Contest
    teams: int
    members: int
    standings: list[TeamRow]
    evolution: list[TeamSeries]
    screen_id: str


@dataclass(frozen=True, slots=True)
class ChallengePanel:
    challenge: Challenge
    participants: int
    week_total: int
    totals: list[int]  # per week of the dashboard's `weeks`, 0 before it started
    pledge_met_weeks: int
    archived_weeks: int
    last_day: date


@dataclass(frozen=True, slots=True)
class CategoryWeek:
    week: date
    category: str
    actions: int
    co2e_g: int


@dataclass(frozen=True, slots=True)
class OfferWeek:
    week: date
    posted: int
    reserved: int
    picked_up: int


@dataclass(frozen=True, slots=True)
class OfferTotals:
    open_now: int
    posted: int
    reserved: int
    picked_up: int


@dataclass(frozen=True, slots=True)
class ModerationQueue:
    pending_makers: int
    reported_offers: int
    open_reports: int


@dataclass(frozen=True, slots=True)
class Dashboard:
    weeks: list[date]
    overview: Overview
    contests: list[ContestPanel]
    challenges: list[ChallengePanel]
    actions: list[CategoryWeek]
    offers: list[OfferWeek]
    offer_totals: OfferTotals
    moderation: ModerationQueue


def last_weeks(now: datetime, tz: tzinfo, count: int = WEEKS_SHOWN) -> list[date]:
    """The `count` weeks ending with the current one, oldest first."""
    current = week_of(now, tz)
    return [current - ONE_WEEK * back for back in range(count - 1, -1, -1)]


# ---------------------------------------------------------------- contest screens


def screen_key(secret: bytes, contest: Contest) -> str:
    """The unguessable part of a contest screen's address (144 bits of an HMAC). Bound to
    the contest's creation instant too, so a database restored elsewhere with other
    contests under the same ids does not open their screens."""
    message = f"contest-screen:{contest.id}:{contest.created_at.isoformat()}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:SCREEN_KEY_LENGTH]


def screen_id(secret: bytes, contest: Contest) -> str:
    return f"{contest.id}-{screen_key(secret, contest)}"


async def contest_for_screen(session: AsyncSession, secret: bytes, given: str) -> Contest | None:
    """The contest whose screen address ends with `given`, or None (unknown or wrong key:
    the caller answers both alike)."""
    match = SCREEN_ID.fullmatch(given)
    if match is None:
        return None
    contest = await session.get(Contest, int(match[1]))
    if contest is None:
        return None
    if not hmac.compare_digest(screen_key(secret, contest), match[2]):
        return None
    return contest


@dataclass(frozen=True, slots=True)
class ContestScreen:
    contest: Contest
    week: date
    rows: list[TeamRow]
    teams: int
    week_actions: int
    week_co2e_g: int
    week_active: int
    actions: int
    co2e_g: int


async def contest_screen(
    session: AsyncSession, contest: Contest, now: datetime, tz: tzinfo
) -> ContestScreen:
    """This week's ranking of the contest's teams and its totals (this week, and since it
    began); a closed contest shows the week it closed in. Team totals only."""
    week = week_of(contest.closed_at or now, tz)
    board = await team_board(session, contest, week, limit=SCREEN_TEAMS_SHOWN)
    this_week = (
        await session.execute(
            select(
                func.coalesce(func.sum(WeekTeamTotal.actions), 0),
                func.coalesce(func.sum(WeekTeamTotal.co2e_g), 0),
                func.coalesce(func.sum(WeekTeamTotal.active_members), 0),
            ).where(WeekTeamTotal.contest_id == contest.id, WeekTeamTotal.week_start == week)
        )
    ).one()
    overall = (
        await session.execute(
            select(
                func.coalesce(func.sum(WeekTeamTotal.actions), 0),
                func.coalesce(func.sum(WeekTeamTotal.co2e_g), 0),
            ).where(WeekTeamTotal.contest_id == contest.id)
        )
    ).one()
    return ContestScreen(
        contest=contest,
        week=week,
        rows=board.rows,
        teams=board.teams,
        week_actions=int(this_week[0]),
        week_co2e_g=int(this_week[1]),
        week_active=int(this_week[2]),
        actions=int(overall[0]),
        co2e_g=int(overall[1]),
    )


# ---------------------------------------------------------------- the dashboard


async def dashboard(
    session: AsyncSession,
    actor_id: int,
    organiser_ids: Iterable[int],
    now: datetime,
    tz: tzinfo,
    screen_secret: bytes,
) -> Dashboard:
    """Everything the dashboard shows, for an organiser (checked here, on every call)."""
    await require_organiser(session, actor_id, organiser_ids)
    await roll_over(session, now, tz)
    weeks = last_weeks(now, tz)
    return Dashboard(
        weeks=weeks,
        overview=await _overview(session, weeks[-1]),
        contests=await _contests(session, weeks, screen_secret),
        challenges=await _challenges(session, weeks, tz),
        actions=await _actions_by_category(session, weeks),
        offers=await _offer_weeks(session, weeks, tz),
        offer_totals=await _offer_totals(session, now),
        moderation=await _moderation(session),
    )


async def _overview(session: AsyncSession, week: date) -> Overview:
    users = await session.scalar(select(func.count()).select_from(User))
    active, week_actions, week_co2e = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(WeekUserTotal.actions), 0),
                func.coalesce(func.sum(WeekUserTotal.co2e_g), 0),
            ).where(WeekUserTotal.week_start == week, WeekUserTotal.actions > 0)
        )
    ).one()
    actions, co2e = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(ActionLog.co2e_g), 0)).select_from(
                ActionLog
            )
        )
    ).one()
    return Overview(
        week=week,
        users=int(users or 0),
        active_this_week=int(active),
        actions=int(actions),
        week_actions=int(week_actions),
        co2e_g=int(co2e),
        week_co2e_g=int(week_co2e),
    )


async def _contests(
    session: AsyncSession, weeks: Sequence[date], screen_secret: bytes
) -> list[ContestPanel]:
    teams = select(func.count(Team.id)).where(Team.contest_id == Contest.id).scalar_subquery()
    members = (
        select(func.count())
        .select_from(TeamMember)
        .where(TeamMember.contest_id == Contest.id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Contest, teams, members)
        .order_by((Contest.status == ContestStatus.OPEN).desc(), Contest.id.desc())
        .limit(CONTESTS_SHOWN)
    )
    panels: list[ContestPanel] = []
    for contest, n_teams, n_members in rows.all():
        board = await team_board(session, contest, weeks[-1], limit=STANDINGS_SHOWN)
        charted = {row.team_id: row.name for row in board.rows[:TEAMS_CHARTED]}
        ratios: dict[tuple[int, date], float] = {}
        if charted:
            for total in await session.scalars(
                select(WeekTeamTotal).where(
                    WeekTeamTotal.team_id.in_(charted), WeekTeamTotal.week_start >= weeks[0]
                )
            ):
                if total.active_members:
                    ratios[total.team_id, total.week_start] = total.actions / total.active_members
        evolution = [
            TeamSeries(name, [ratios.get((team_id, week), 0.0) for week in weeks])
            for team_id, name in charted.items()
        ]
        panels.append(
            ContestPanel(
                contest=contest,
                teams=int(n_teams),
                members=int(n_members),
                standings=board.rows,
                evolution=evolution,
                screen_id=screen_id(screen_secret, contest),
            )
        )
    return panels


async def _challenges(
    session: AsyncSession, weeks: Sequence[date], tz: tzinfo
) -> list[ChallengePanel]:
    challenges = list(
        await session.scalars(
            select(Challenge)
            .where(Challenge.deleted_at.is_(None))
            .order_by(Challenge.id.desc())
            .limit(CHALLENGES_SHOWN)
        )
    )
    panels: list[ChallengePanel] = []
    for challenge in challenges:
        rows = list(
            await session.scalars(
                select(ChallengeWeek).where(ChallengeWeek.challenge_id == challenge.id)
            )
        )
        by_week = {row.week_start: row.total for row in rows}
        panels.append(
            ChallengePanel(
                challenge=challenge,
                participants=await participant_count(session, challenge.id),
                week_total=by_week.get(weeks[-1], 0),
                totals=[by_week.get(week, 0) for week in weeks],
                pledge_met_weeks=challenge.pledge_met_weeks,
                archived_weeks=sum(1 for row in rows if row.archived_at is not None),
                last_day=last_day(challenge, tz),
            )
        )
    return panels


async def _actions_by_category(session: AsyncSession, weeks: Sequence[date]) -> list[CategoryWeek]:
    rows = await session.execute(
        select(
            ActionLog.week_start,
            ActionLog.category,
            func.count(),
            func.coalesce(func.sum(ActionLog.co2e_g), 0),
        )
        .where(ActionLog.week_start >= weeks[0])
        .group_by(ActionLog.week_start, ActionLog.category)
    )
    found = {(week, category): (int(n), int(g)) for week, category, n, g in rows.all()}
    known = [category.value for category in ActionCategory]
    extra = sorted({category for _, category in found} - set(known))
    return [
        CategoryWeek(week, category, *found.get((week, category), (0, 0)))
        for week in weeks
        for category in (*known, *extra)
    ]


def _per_week(
    column: QueryableAttribute[datetime] | QueryableAttribute[datetime | None],
    bounds: Sequence[tuple[datetime, datetime]],
) -> list[ColumnElement[int]]:
    """One SUM(CASE ...) per week: the weeks counted in a single pass over the rows."""
    return [
        func.coalesce(func.sum(case((and_(column >= start, column < end), 1), else_=0)), 0)
        for start, end in bounds
    ]


async def _offer_weeks(session: AsyncSession, weeks: Sequence[date], tz: tzinfo) -> list[OfferWeek]:
    bounds = [week_bounds(week, tz) for week in weeks]
    first = bounds[0][0]
    posted = (
        await session.execute(
            select(*_per_week(Offer.created_at, bounds)).where(Offer.created_at >= first)
        )
    ).one()
    reserved = (
        await session.execute(
            select(*_per_week(Reservation.reserved_at, bounds)).where(
                Reservation.reserved_at >= first
            )
        )
    ).one()
    picked = (
        await session.execute(
            select(*_per_week(Reservation.ended_at, bounds)).where(
                Reservation.status == ReservationStatus.PICKED_UP.value,
                Reservation.ended_at >= first,
            )
        )
    ).one()
    return [
        OfferWeek(week, int(posted[n]), int(reserved[n]), int(picked[n]))
        for n, week in enumerate(weeks)
    ]


async def _offer_totals(session: AsyncSession, now: datetime) -> OfferTotals:
    open_now = await session.scalar(
        select(func.count())
        .select_from(Offer)
        .where(Offer.status == OfferStatus.OPEN.value, Offer.pickup_end > now)
    )
    posted = await session.scalar(select(func.count()).select_from(Offer))
    reserved, picked = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(
                    func.sum(
                        case((Reservation.status == ReservationStatus.PICKED_UP.value, 1), else_=0)
                    ),
                    0,
                ),
            ).select_from(Reservation)
        )
    ).one()
    return OfferTotals(int(open_now or 0), int(posted or 0), int(reserved), int(picked))


async def _moderation(session: AsyncSession) -> ModerationQueue:
    pending = await session.scalar(
        select(func.count()).select_from(Maker).where(Maker.status == MakerStatus.PENDING.value)
    )
    offers, reports_open = (
        await session.execute(
            select(func.count(func.distinct(OfferReport.offer_id)), func.count())
            .select_from(OfferReport)
            .join(Offer, Offer.id == OfferReport.offer_id)
            .where(
                OfferReport.status == ReportStatus.OPEN.value,
                Offer.status != OfferStatus.REMOVED.value,
            )
        )
    ).one()
    return ModerationQueue(int(pending or 0), int(offers), int(reports_open))


# ---------------------------------------------------------------- downloads


EXPORT_KINDS = ("contest_standings", "challenge_progress", "action_log")


async def export_file(
    session: AsyncSession,
    kind: str,
    actor_id: int,
    organiser_ids: Iterable[int],
    now: datetime,
    tz: tzinfo,
    folder: Path,
    style: reports.CsvStyle = reports.COMMA_STYLE,
) -> reports.ExportFile:
    """One of `/export`'s files (the same content), written into `folder`."""
    if kind not in EXPORT_KINDS:
        raise LookupError(kind)
    await require_organiser(session, actor_id, organiser_ids)
    await roll_over(session, now, tz)
    if kind == "contest_standings":
        return await reports.export_contest_standings(session, folder, style)
    if kind == "challenge_progress":
        return await reports.export_challenge_weeks(session, folder, style)
    return await reports.export_action_log(session, folder, style)
