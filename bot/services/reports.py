"""Organisers' figures (`/stats`) and CSV exports (`/export`), PRODUCT.md §2.7.

The exports and the statistics read the same tables, so their numbers agree: the action
log has one row per logged action (its CO2e adds up to the total), the challenge file one
row per challenge and week. People appear in the log only as a random pseudonym, which
is erased with them.
"""

from __future__ import annotations

import csv
import gzip
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.weeks import week_of
from bot.services.actions import GRAMS_PER_KG
from bot.services.challenges import participant_count, roll_over
from bot.services.leaderboard import team_board
from bot.services.users import require_organiser
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
# Telegram takes documents up to 50 MB from bots.
GZIP_ABOVE = 45 * 2**20


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
    path: Path
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


@dataclass(frozen=True, slots=True)
class CsvStyle:
    """How a spreadsheet program of a language reads a CSV file it is given: French ones
    (Excel, LibreOffice in French) split columns on ";" and read "2,5" as a number; with
    commas the whole file landed in one column."""

    delimiter: str
    decimal: str


COMMA_STYLE = CsvStyle(",", ".")
SEMICOLON_STYLE = CsvStyle(";", ",")


def csv_style(locale: str) -> CsvStyle:
    return SEMICOLON_STYLE if locale == "fr" else COMMA_STYLE


def _number(value: float | Decimal, decimal: str) -> str:
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    return text.replace(".", decimal)


class _CsvFile:
    """A CSV written row by row to disk (an export of a million logs never sits in
    memory), gzipped when it would be too big for a Telegram document."""

    def __init__(
        self, folder: Path, name: str, header: Sequence[str], style: CsvStyle = COMMA_STYLE
    ) -> None:
        self.name = name
        self.path = folder / name
        self._style = style
        # utf-8-sig: spreadsheet programs then read the accents right.
        self._handle = self.path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._handle, delimiter=style.delimiter, lineterminator="\n")
        self._writer.writerow(header)
        self.rows = 0

    def write(self, row: Sequence[object]) -> None:
        self._writer.writerow(
            [
                _number(value, self._style.decimal) if isinstance(value, float | Decimal) else value
                for value in row
            ]
        )
        self.rows += 1

    def close(self) -> ExportFile:
        self._handle.close()
        if self.path.stat().st_size <= GZIP_ABOVE:
            return ExportFile(self.name, self.path, self.rows)
        packed = self.path.with_name(self.name + ".gz")
        with self.path.open("rb") as source, gzip.open(packed, "wb") as target:
            shutil.copyfileobj(source, target)
        self.path.unlink()
        return ExportFile(packed.name, packed, self.rows)


async def export_contest_standings(
    session: AsyncSession, folder: Path, style: CsvStyle = COMMA_STYLE
) -> ExportFile:
    weeks = (
        await session.execute(
            select(WeekTeamTotal.contest_id, WeekTeamTotal.week_start)
            .distinct()
            .order_by(WeekTeamTotal.contest_id, WeekTeamTotal.week_start)
        )
    ).all()
    contests = {c.id: c for c in await session.scalars(select(Contest))}
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
    out = _CsvFile(folder, "contest_standings.csv", header, style)
    for contest_id, week in weeks:
        contest = contests[contest_id]
        board = await team_board(session, contest, week, limit=10**6)
        for row in board.rows:
            out.write(
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
            )
    return out.close()


async def export_challenge_weeks(
    session: AsyncSession, folder: Path, style: CsvStyle = COMMA_STYLE
) -> ExportFile:
    result = await session.execute(
        select(Challenge, ChallengeWeek)
        .join(ChallengeWeek, ChallengeWeek.challenge_id == Challenge.id)
        .order_by(Challenge.id, ChallengeWeek.week_start)
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
    out = _CsvFile(folder, "challenge_progress.csv", header, style)
    for challenge, week in result:
        out.write(
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
        )
    return out.close()


async def export_action_log(
    session: AsyncSession, folder: Path, style: CsvStyle = COMMA_STYLE
) -> ExportFile:
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
    out = _CsvFile(folder, "action_log.csv", header, style)
    # A log counting for several teams comes as consecutive rows: held until complete.
    pending: list[object] | None = None
    last_id: int | None = None
    result = await session.stream(statement.execution_options(yield_per=5000))
    async for row in result:
        if row.id == last_id and pending is not None:
            pending[-1] = f"{pending[-1]};{row.team_id}"
            continue
        if pending is not None:
            out.write(pending)
        last_id = row.id
        pending = [
            row.pseudonym or "",
            row.logged_at.isoformat(),
            row.week_start.isoformat(),
            row.action_slug,
            row.category,
            kg(row.co2e_g),
            "group" if row.chat_id < 0 else "private",
            "" if row.team_id is None else str(row.team_id),
        ]
    if pending is not None:
        out.write(pending)
    return out.close()


async def export_all(
    session: AsyncSession,
    actor_id: int,
    organiser_ids: Iterable[int],
    now: datetime,
    tz: tzinfo,
    folder: Path,
    style: CsvStyle = COMMA_STYLE,
) -> list[ExportFile]:
    """Write the three CSV files into `folder` (the caller's to clean up), in the style the
    organiser's spreadsheet program reads (csv_style)."""
    await require_organiser(session, actor_id, organiser_ids)
    await roll_over(session, now, tz)
    return [
        await export_contest_standings(session, folder, style),
        await export_challenge_weeks(session, folder, style),
        await export_action_log(session, folder, style),
    ]
