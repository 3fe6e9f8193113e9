"""The figures on the cards people post (PRODUCT.md §2.4): "my week" (this week, streak,
total avoided, team and its rank, my rank) and a challenge's card (days left, my
contribution). Pure domain: a session in, plain data out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.weeks import week_of
from bot.services import actions, challenges, contests, leaderboard
from bot.services.actions import MyFigures
from bot.services.challenges import ChallengeView
from models import ChallengeContribution


@dataclass(frozen=True, slots=True)
class MeCard:
    figures: MyFigures
    rank: int | None  # this week, among the people who logged something
    people: int
    team: str | None
    team_rank: int | None
    teams: int


@dataclass(frozen=True, slots=True)
class ChallengeCard:
    view: ChallengeView
    days_left: int  # today included
    mine_this_week: int
    mine_in_all: int


async def me_card(session: AsyncSession, user_id: int, now: datetime, tz: tzinfo) -> MeCard:
    figures = await actions.my_figures(session, user_id, now, tz)
    week = week_of(now, tz)
    # The rank only (not the board's top): the week's actions are known from the figures.
    standing = await leaderboard.my_standing(session, week, user_id, figures.week_actions)
    memberships = await contests.member_teams(session, user_id)
    team = team_rank = None
    teams = 0
    if memberships:
        # The newest contest's team (memberships come oldest contest first).
        membership = memberships[-1]
        board = await leaderboard.team_board(
            session, membership.contest, week, membership.team.id, limit=1
        )
        team, teams = membership.team.name, board.teams
        team_rank = board.mine.rank if board.mine is not None else None
    return MeCard(figures, standing.rank, standing.people, team, team_rank, teams)


async def challenge_card(
    session: AsyncSession, challenge_id: int, user_id: int, now: datetime, tz: tzinfo
) -> ChallengeCard:
    """Raises ChallengeNotFoundError for a challenge that is not running."""
    view = await challenges.challenge_view(session, challenge_id, user_id, now, tz)
    days_left = (challenges.last_day(view.challenge, tz) - now.astimezone(tz).date()).days + 1
    mine = (
        ChallengeContribution.user_id == user_id,
        ChallengeContribution.challenge_id == view.challenge.id,
    )
    this_week = await session.scalar(
        select(ChallengeContribution.actions).where(
            *mine, ChallengeContribution.week_start == week_of(now, tz)
        )
    )
    in_all = await session.scalar(
        select(func.coalesce(func.sum(ChallengeContribution.actions), 0)).where(*mine)
    )
    return ChallengeCard(view, max(days_left, 0), int(this_week or 0), int(in_all or 0))
