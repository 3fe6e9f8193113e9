"""Who a broadcast goes to: one resolver per audience kind.

Extension points (after the challenges/teams branch merges):
- AudienceKind.CHALLENGE: participants of challenge `target_id` — add a resolver reading
  the participations table, and register it in RESOLVERS;
- AudienceKind.CONTEST_TEAMS: the team group chats of contest `target_id` (negative chat
  ids; the sender paces groups at 20 a minute each).
A kind without a resolver is hidden from /broadcast and refused by the service, so the
localized labels (`broadcast.audience.challenge`, `broadcast.audience.teams`) already exist
and only show up once the resolver is registered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import User


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


RESOLVERS: dict[AudienceKind, tuple[Resolver, Counter]] = {
    AudienceKind.EVERYONE: (everyone, count_everyone),
    # AudienceKind.CHALLENGE: (challenge_participants, count_challenge_participants),
    # AudienceKind.CONTEST_TEAMS: (contest_team_groups, count_contest_team_groups),
}


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
