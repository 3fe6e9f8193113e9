"""Campus contests and their teams (PRODUCT.md §2.4, §2.7).

An organiser creates a contest with a join code; a group's admin registers the group as
a team with `/team CODE`; people join one team per contest. Who is an organiser, and
whether the sender is a group admin, is re-checked by the caller on every update and
here again where it matters (organiser actions).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.users import require_organiser
from models import Contest, ContestStatus, Team, TeamMember

CONTEST_NAME_LIMIT = 100
TEAM_NAME_LIMIT = 128
# No 0/O, 1/I/L: a code is read aloud in lecture halls and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6


class ContestNotFoundError(LookupError):
    pass


class ContestClosedError(Exception):
    pass


class TeamNotFoundError(LookupError):
    pass


class InvalidNameError(ValueError):
    pass


# Not frozen: Python sets __traceback__ on an exception as it travels.
@dataclass
class AlreadyInTeamError(Exception):
    """The person is in another team of the same contest."""

    team_name: str


# Not frozen: Python sets __traceback__ on an exception as it travels.
@dataclass
class NotMemberError(Exception):
    """The person is not (or no longer) in that team."""

    team_name: str


@dataclass(frozen=True, slots=True)
class Membership:
    team: Team
    contest: Contest


def clean_name(text: str, limit: int) -> str:
    name = " ".join(text.split())
    if not name or len(name) > limit:
        raise InvalidNameError(text)
    return name


def normalise_code(text: str) -> str:
    return "".join(text.split()).upper()


async def create_contest(
    session: AsyncSession, name: str, actor_id: int, organiser_ids: Iterable[int], now: datetime
) -> Contest:
    await require_organiser(session, actor_id, organiser_ids)
    name = clean_name(name, CONTEST_NAME_LIMIT)
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if await session.scalar(select(Contest.id).where(Contest.join_code == code)) is None:
            break
    contest = Contest(
        name=name, join_code=code, status=ContestStatus.OPEN, created_by=actor_id, created_at=now
    )
    session.add(contest)
    await session.flush()
    return contest


@dataclass(frozen=True, slots=True)
class ContestSummary:
    contest: Contest
    teams: int
    members: int


async def list_contests(
    session: AsyncSession, actor_id: int, organiser_ids: Iterable[int]
) -> list[ContestSummary]:
    """Every contest, open ones first, newest first, with its team and member counts."""
    await require_organiser(session, actor_id, organiser_ids)
    teams = select(func.count(Team.id)).where(Team.contest_id == Contest.id).scalar_subquery()
    members = (
        select(func.count())
        .select_from(TeamMember)
        .where(TeamMember.contest_id == Contest.id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Contest, teams, members).order_by(
            (Contest.status == ContestStatus.OPEN).desc(), Contest.id.desc()
        )
    )
    return [ContestSummary(contest, n_teams, n_members) for contest, n_teams, n_members in rows]


async def close_contest(
    session: AsyncSession,
    contest_id: int,
    actor_id: int,
    organiser_ids: Iterable[int],
    now: datetime,
) -> Contest:
    """Close an open contest: no new teams nor members, and logs stop counting for it."""
    await require_organiser(session, actor_id, organiser_ids)
    contest = await contest_by_id(session, contest_id)
    if contest.status is ContestStatus.CLOSED:
        raise ContestClosedError(contest_id)
    contest.status = ContestStatus.CLOSED
    contest.closed_at = now
    return contest


async def open_contest_by_code(session: AsyncSession, code: str) -> Contest:
    contest = await session.scalar(select(Contest).where(Contest.join_code == normalise_code(code)))
    if contest is None:
        raise ContestNotFoundError(code)
    if contest.status is not ContestStatus.OPEN:
        raise ContestClosedError(contest.id)
    return contest


async def register_team(
    session: AsyncSession, code: str, chat_id: int, title: str, actor_id: int, now: datetime
) -> tuple[Team, Contest, bool]:
    """Make the group `chat_id` a team of the contest with `code` (the caller has checked
    that `actor_id` administers the group). Returns (team, contest, newly registered)."""
    if chat_id >= 0:
        raise ValueError("a team is a group chat")
    contest = await open_contest_by_code(session, code)
    existing = await session.scalar(
        select(Team).where(Team.contest_id == contest.id, Team.chat_id == chat_id)
    )
    if existing is not None:
        return existing, contest, False
    name = " ".join(title.split())[:TEAM_NAME_LIMIT] or f"#{-chat_id}"
    team = Team(
        contest_id=contest.id, chat_id=chat_id, name=name, registered_by=actor_id, created_at=now
    )
    session.add(team)
    await session.flush()
    return team, contest, True


async def team_with_contest(session: AsyncSession, team_id: int) -> tuple[Team, Contest]:
    row = (
        await session.execute(
            select(Team, Contest)
            .join(Contest, Contest.id == Team.contest_id)
            .where(Team.id == team_id)
        )
    ).first()
    if row is None:
        raise TeamNotFoundError(team_id)
    return row[0], row[1]


async def join_team(
    session: AsyncSession, team_id: int, user_id: int, now: datetime
) -> tuple[Team, bool]:
    """Join a team of an open contest. Returns (team, newly joined); joining one's own
    team again is fine, another team of the same contest is refused."""
    team, contest = await team_with_contest(session, team_id)
    if contest.status is not ContestStatus.OPEN:
        raise ContestClosedError(contest.id)
    current = await session.scalar(
        select(Team)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.contest_id == contest.id, TeamMember.user_id == user_id)
    )
    if current is not None:
        if current.id == team.id:
            return team, False
        raise AlreadyInTeamError(current.name)
    session.add(TeamMember(team_id=team.id, user_id=user_id, contest_id=contest.id, joined_at=now))
    await session.flush()
    return team, True


async def leave_team(session: AsyncSession, team_id: int, user_id: int) -> Team:
    """Leave a team (of an open or closed contest). What the person logged for it stays in
    the team's totals: published aggregates keep their numbers."""
    team, _contest = await team_with_contest(session, team_id)
    left = await session.execute(
        delete(TeamMember).where(TeamMember.team_id == team_id, TeamMember.user_id == user_id)
    )
    if not left.rowcount:  # type: ignore[attr-defined]
        raise NotMemberError(team.name)
    return team


# Read by every log, /me, /leaderboard and /challenges: built once (building a statement
# and its cache key at each call cost more CPU than running it), the person bound.
_MEMBER_TEAMS = (
    select(Team, Contest)
    .join(TeamMember, TeamMember.team_id == Team.id)
    .join(Contest, Contest.id == Team.contest_id)
    .where(
        TeamMember.user_id == bindparam("user_id", type_=BigInteger),
        Contest.status == ContestStatus.OPEN,
    )
    .order_by(Contest.id)
)


async def member_teams(session: AsyncSession, user_id: int) -> list[Membership]:
    """The person's teams in open contests: a log counts for each of them."""
    rows = await session.execute(_MEMBER_TEAMS, {"user_id": user_id})
    return [Membership(team, contest) for team, contest in rows]


async def teams_of_chat(session: AsyncSession, chat_id: int) -> list[Membership]:
    """The teams a group chat is, in open contests."""
    rows = await session.execute(
        select(Team, Contest)
        .join(Contest, Contest.id == Team.contest_id)
        .where(Team.chat_id == chat_id, Contest.status == ContestStatus.OPEN)
        .order_by(Contest.id)
    )
    return [Membership(team, contest) for team, contest in rows]


async def member_count(session: AsyncSession, team_id: int) -> int:
    count = await session.scalar(
        select(func.count()).select_from(TeamMember).where(TeamMember.team_id == team_id)
    )
    return int(count or 0)


async def contest_by_id(session: AsyncSession, contest_id: int) -> Contest:
    contest = await session.get(Contest, contest_id)
    if contest is None:
        raise ContestNotFoundError(contest_id)
    return contest


async def teams_of_contest(session: AsyncSession, contest_id: int) -> list[Team]:
    rows = await session.scalars(
        select(Team).where(Team.contest_id == contest_id).order_by(Team.name, Team.id)
    )
    return list(rows)
