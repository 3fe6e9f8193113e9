"""Organisers' figures (`/stats`) and CSV exports (`/export`), PRODUCT.md §2.7.

The exports and the statistics read the same tables, so their numbers agree: the action
log has one row per logged action (its CO2e adds up to the total), the challenge file one
row per challenge and week. People appear in the log only as a random pseudonym, which
is erased with them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.actions import GRAMS_PER_KG
from bot.services.challenges import participant_count, roll_over
from bot.services.contests import require_organiser
from bot.services.leaderboard import team_board
from bot.weeks import week_of
from models import (
    ActionLog,
    ActionLogTeam,
    ActionProfile,
    Challenge,
    ChallengeWeek,
    Contest,
    User,
    WeekTeamTotal,
    WeekUserTotal,
)

STATS_CHALLENGES = 20


@dataclass(frozen=True, slots=True)
class ChallengeStats:
    challenge: Challenge
    participants: int
    week_total: int
    weeks: int
    pledge_met_weeks: int


@dataclass(frozen=True, slots=True)
class Stats:
    week: date
    users: int
    active_this_week: int
    actions: int
    co2e_g: int
    week_actions: int
    challenges: list[ChallengeStats]


@dataclass(frozen=True, slots=True)
class ExportFile:
    name: str
    content: bytes
    rows: int


def kg(grams: int) -> Decimal:
    return Decimal(grams) / GRAMS_PER_KG


async def stats(
    session: AsyncSession, actor_id: int, organiser_ids: Iterable[int], now: datetime, tz: tzinfo
) -> Stats:
    await require_organiser(session, actor_id, organiser_ids)
    await roll_over(session, now, tz)
    week = week_of(now, tz)
    users = await session.scalar(select(func.count()).select_from(User))
    active, week_actions = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(WeekUserTotal.actions), 0)).where(
                WeekUserTotal.week_start == week, WeekUserTotal.actions > 0
            )
        )
    ).one()
    actions, co2e = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(ActionLog.co2e_g), 0)).select_from(
                ActionLog
            )
        )
    ).one()
    challenges = await session.scalars(
        select(Challenge)
        .where(Challenge.deleted_at.is_(None))
        .order_by(Challenge.id.desc())
        .limit(STATS_CHALLENGES)
    )
    per_challenge: list[ChallengeStats] = []
    for challenge in challenges:
        weeks = {
            row.week_start: row.total
            for row in await session.scalars(
                select(ChallengeWeek).where(ChallengeWeek.challenge_id == challenge.id)
            )
        }
        per_challenge.append(
            ChallengeStats(
                challenge,
                await participant_count(session, challenge.id),
                weeks.get(week, 0),
                len(weeks),
                challenge.pledge_met_weeks,
            )
        )
    return Stats(
        week=week,
        users=int(users or 0),
        active_this_week=int(active),
        actions=int(actions),
        co2e_g=int(co2e),
        week_actions=int(week_actions),
        challenges=per_challenge,
    )


def _csv(header: list[str], rows: Iterable[Sequence[object]]) -> tuple[bytes, int]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    # utf-8-sig: spreadsheet programs then read the accents right.
    return buffer.getvalue().encode("utf-8-sig"), count


async def export_contest_standings(session: AsyncSession) -> ExportFile:
    weeks = (
        await session.execute(
            select(WeekTeamTotal.contest_id, WeekTeamTotal.week_start)
            .distinct()
            .order_by(WeekTeamTotal.contest_id, WeekTeamTotal.week_start)
        )
    ).all()
    contests = {c.id: c for c in await session.scalars(select(Contest))}
    rows: list[list[object]] = []
    for contest_id, week in weeks:
        contest = contests[contest_id]
        board = await team_board(session, contest, week, limit=10**6)
        rows.extend(
            [
                contest.id,
                contest.name,
                week.isoformat(),
                row.rank,
                row.team_id,
                row.name,
                row.actions,
                row.active_members,
                f"{row.per_member:.2f}",
            ]
            for row in board.rows
        )
    header = [
        "contest_id",
        "contest",
        "week_start",
        "rank",
        "team_id",
        "team",
        "actions",
        "active_members",
        "actions_per_active_member",
    ]
    content, count = _csv(header, rows)
    return ExportFile("contest_standings.csv", content, count)


async def export_challenge_weeks(session: AsyncSession) -> ExportFile:
    result = await session.execute(
        select(Challenge, ChallengeWeek)
        .join(ChallengeWeek, ChallengeWeek.challenge_id == Challenge.id)
        .order_by(Challenge.id, ChallengeWeek.week_start)
    )
    rows = (
        [
            challenge.id,
            challenge.title,
            week.week_start.isoformat(),
            week.total,
            challenge.weekly_target,
            "yes" if week.pledge_met else "no",
            "archived" if week.archived_at is not None else "in progress",
            "deleted" if challenge.deleted_at is not None else "",
        ]
        for challenge, week in result
    )
    header = [
        "challenge_id",
        "challenge",
        "week_start",
        "total",
        "weekly_target",
        "pledge_met",
        "week_status",
        "challenge_status",
    ]
    content, count = _csv(header, rows)
    return ExportFile("challenge_progress.csv", content, count)


async def export_action_log(session: AsyncSession) -> ExportFile:
    """One row per logged action; the person is a pseudonym, the place private or group."""
    statement = (
        select(
            ActionLog.id,
            ActionProfile.pseudonym,
            ActionLog.logged_at,
            ActionLog.week_start,
            ActionLog.action_slug,
            ActionLog.category,
            ActionLog.co2e_g,
            ActionLog.chat_id,
            ActionLogTeam.team_id,
        )
        .outerjoin(ActionProfile, ActionProfile.user_id == ActionLog.user_id)
        .outerjoin(ActionLogTeam, ActionLogTeam.log_id == ActionLog.id)
        .order_by(ActionLog.id, ActionLogTeam.team_id)
    )
    rows: list[list[object]] = []
    last_id: int | None = None
    result = await session.stream(statement.execution_options(yield_per=5000))
    async for row in result:
        if row.id == last_id:
            # One more team for the same log.
            rows[-1][-1] = f"{rows[-1][-1]};{row.team_id}"
            continue
        last_id = row.id
        rows.append(
            [
                row.pseudonym or "",
                row.logged_at.isoformat(),
                row.week_start.isoformat(),
                row.action_slug,
                row.category,
                f"{kg(row.co2e_g):f}",
                "group" if row.chat_id < 0 else "private",
                "" if row.team_id is None else str(row.team_id),
            ]
        )
    header = [
        "person",
        "logged_at_utc",
        "week_start",
        "action",
        "category",
        "co2e_kg",
        "logged_in",
        "team_ids",
    ]
    content, count = _csv(header, rows)
    return ExportFile("action_log.csv", content, count)


async def export_all(
    session: AsyncSession, actor_id: int, organiser_ids: Iterable[int], now: datetime, tz: tzinfo
) -> list[ExportFile]:
    await require_organiser(session, actor_id, organiser_ids)
    await roll_over(session, now, tz)
    return [
        await export_contest_standings(session),
        await export_challenge_weeks(session),
        await export_action_log(session),
    ]
