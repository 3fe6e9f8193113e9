"""Who a broadcast goes to: one resolver per audience kind.

- EVERYONE: everyone who talked to the bot and has not blocked it;
- CHALLENGE: the (active) participants of challenge `target_id`;
- CONTEST_TEAMS: the team group chats of contest `target_id` (negative chat ids; the
  sender paces groups at 20 a minute each).
A kind without a resolver is hidden from /broadcast and refused by the service. For the
kinds with a target, the counter given no target counts every recipient one could pick
(the wizard's first buttons) and `targets` lists the choices with their counts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Challenge, ChallengeParticipant, Contest, ContestStatus, Team, User


class AudienceKind(StrEnum):
    EVERYONE = "all"
    CHALLENGE = "challenge"
    CONTEST_TEAMS = "teams"


class UnknownAudienceError(ValueError):
    pass


# (session, target id or None) -> chat ids.
Resolver = Callable[[AsyncSession, int | None], Awaitable[list[int]]]
# (session, target id or None) -> how many, for the wizard's buttons.
Counter = Callable[[AsyncSession, int | None], Awaitable[int]]


async def everyone(session: AsyncSession, target_id: int | None) -> list[int]:
    """Everyone who talked to the bot and has not blocked it."""
    rows = await session.scalars(select(User.id).where(User.is_active.is_(True)).order_by(User.id))
    return list(rows.all())


async def count_everyone(session: AsyncSession, target_id: int | None) -> int:
    return int(await session.scalar(select(func.count()).where(User.is_active.is_(True))) or 0)


def _open_challenges() -> list[ColumnElement[bool]]:
    """Challenges one may still write to: not taken down (over or not, its people stay)."""
    return [Challenge.deleted_at.is_(None)]


def _participants(target_id: int | None) -> list[ColumnElement[bool]]:
    where = [User.is_active.is_(True), *_open_challenges()]
    if target_id is not None:
        where.append(ChallengeParticipant.challenge_id == target_id)
    return where


async def challenge_participants(session: AsyncSession, target_id: int | None) -> list[int]:
    if target_id is None:
        return []
    rows = await session.scalars(
        select(User.id)
        .join(ChallengeParticipant, ChallengeParticipant.user_id == User.id)
        .join(Challenge, Challenge.id == ChallengeParticipant.challenge_id)
        .where(*_participants(target_id))
        .distinct()
        .order_by(User.id)
    )
    return list(rows.all())


async def count_challenge_participants(session: AsyncSession, target_id: int | None) -> int:
    return int(
        await session.scalar(
            select(func.count(func.distinct(User.id)))
            .select_from(User)
            .join(ChallengeParticipant, ChallengeParticipant.user_id == User.id)
            .join(Challenge, Challenge.id == ChallengeParticipant.challenge_id)
            .where(*_participants(target_id))
        )
        or 0
    )


def _team_groups(target_id: int | None) -> list[ColumnElement[bool]]:
    where = [Contest.status == ContestStatus.OPEN]
    if target_id is not None:
        where.append(Team.contest_id == target_id)
    return where


async def contest_team_groups(session: AsyncSession, target_id: int | None) -> list[int]:
    if target_id is None:
        return []
    rows = await session.scalars(
        select(Team.chat_id)
        .join(Contest, Contest.id == Team.contest_id)
        .where(*_team_groups(target_id))
        .distinct()
        .order_by(Team.chat_id)
    )
    return list(rows.all())


async def count_contest_team_groups(session: AsyncSession, target_id: int | None) -> int:
    return int(
        await session.scalar(
            select(func.count(func.distinct(Team.chat_id)))
            .select_from(Team)
            .join(Contest, Contest.id == Team.contest_id)
            .where(*_team_groups(target_id))
        )
        or 0
    )


RESOLVERS: dict[AudienceKind, tuple[Resolver, Counter]] = {
    AudienceKind.EVERYONE: (everyone, count_everyone),
    AudienceKind.CHALLENGE: (challenge_participants, count_challenge_participants),
    AudienceKind.CONTEST_TEAMS: (contest_team_groups, count_contest_team_groups),
}


@dataclass(frozen=True, slots=True)
class Target:
    id: int
    name: str
    count: int


async def targets(session: AsyncSession, kind: AudienceKind, now: datetime) -> list[Target]:
    """What an organiser may pick for `kind`: running challenges with their participants,
    open contests with their team groups (newest first)."""
    if kind is AudienceKind.CHALLENGE:
        rows = await session.execute(
            select(Challenge.id, Challenge.title)
            .where(*_open_challenges(), Challenge.ends_at > now)
            .order_by(Challenge.id.desc())
        )
        return [
            Target(i, title, await count_challenge_participants(session, i)) for i, title in rows
        ]
    if kind is AudienceKind.CONTEST_TEAMS:
        rows = await session.execute(
            select(Contest.id, Contest.name)
            .where(Contest.status == ContestStatus.OPEN)
            .order_by(Contest.id.desc())
        )
        return [Target(i, name, await count_contest_team_groups(session, i)) for i, name in rows]
    return []


async def target(
    session: AsyncSession, kind: AudienceKind, target_id: int, now: datetime
) -> Target | None:
    return next((t for t in await targets(session, kind, now) if t.id == target_id), None)


def available() -> list[AudienceKind]:
    """The kinds /broadcast offers (those with a resolver), in menu order."""
    return [kind for kind in AudienceKind if kind in RESOLVERS]


def needs_target(kind: AudienceKind) -> bool:
    return kind is not AudienceKind.EVERYONE


async def resolve(session: AsyncSession, kind: AudienceKind, target_id: int | None) -> list[int]:
    if kind not in RESOLVERS:
        raise UnknownAudienceError(kind)
    return await RESOLVERS[kind][0](session, target_id)


async def count(session: AsyncSession, kind: AudienceKind, target_id: int | None) -> int:
    if kind not in RESOLVERS:
        raise UnknownAudienceError(kind)
    return await RESOLVERS[kind][1](session, target_id)
