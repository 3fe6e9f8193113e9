"""The weekly leaderboards (PRODUCT.md §2.4): people, and the teams of a contest.

People are ranked by how many actions they logged this week (ties share a rank, and are
listed by CO2e, then by id); only those who agreed are named.
Teams are ranked by actions per active member — a member who logged at least one action
for the team this week — so a small campus can beat a big one. Both read the weekly
tables maintained with every log, never the log itself, and count the week's people
from week_action_counts (people per number of actions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Integer,
    Select,
    bindparam,
    case,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.weeks import week_of
from bot.services.contests import member_teams, teams_of_chat
from models import (
    ActionProfile,
    Contest,
    Team,
    User,
    WeekActionCount,
    WeekTeamTotal,
    WeekUserTotal,
)

PEOPLE_SHOWN = 10
TEAMS_SHOWN = 10


@dataclass(frozen=True, slots=True)
class PersonRow:
    rank: int
    user_id: int
    name: str | None  # None: did not agree to be named
    actions: int
    co2e_g: int


@dataclass(frozen=True, slots=True)
class PeopleBoard:
    rows: list[PersonRow]
    people: int
    my_rank: int | None
    my_actions: int


@dataclass(frozen=True, slots=True)
class TeamRow:
    rank: int
    team_id: int
    name: str
    actions: int
    active_members: int

    @property
    def per_member(self) -> float:
        return self.actions / self.active_members if self.active_members else 0.0


@dataclass(frozen=True, slots=True)
class TeamBoard:
    contest: Contest
    rows: list[TeamRow]
    teams: int
    mine: TeamRow | None


@dataclass(frozen=True, slots=True)
class Standing:
    """A person's week: their actions, rank (None without an action) among `people`."""

    actions: int
    rank: int | None
    people: int


async def my_standing(
    session: AsyncSession, week: date, user_id: int, actions: int | None = None
) -> Standing:
    """The person's standing in one round trip, from week_action_counts (people per number
    of actions, a few hundred rows a week): counting the week's people themselves read
    tens of thousands of index entries at 1,000,000 logs. `actions` when the caller read
    them already (/me): then bound as a value."""
    if actions is None:
        row = await session.execute(_STANDING_OF_READER, {"week": week, "user_id": user_id})
    else:
        row = await session.execute(_STANDING_AT, {"week": week, "actions": actions})
    found, people, better = row.one()
    found = int(found or 0)
    return Standing(found, int(better) + 1 if found else None, int(people))


def _standing_statement(mine: ColumnElement[int]) -> Select[Any]:
    """my_standing's query, built once (as _people_statement): the week and the reader's
    actions (`mine`: a bound value, or read in the same query) are bound."""
    ahead = case(
        (WeekActionCount.actions > func.coalesce(mine, 0), WeekActionCount.people), else_=0
    )
    return select(
        func.coalesce(mine, 0),
        func.coalesce(func.sum(WeekActionCount.people), 0),
        func.coalesce(func.sum(ahead), 0),
    ).where(WeekActionCount.week_start == bindparam("week", type_=Date))


_STANDING_AT = _standing_statement(bindparam("actions", type_=Integer))
_STANDING_OF_READER = _standing_statement(
    select(WeekUserTotal.actions)
    .where(
        WeekUserTotal.week_start == bindparam("week", type_=Date),
        WeekUserTotal.user_id == bindparam("user_id", type_=BigInteger),
    )
    .scalar_subquery()
)


def _people_statement() -> Select[Any]:
    """The people board's query, built once: building a statement (and its cache key) at
    every call cost more CPU than running it. The week, reader and limit are bound."""
    week, user_id = bindparam("week", type_=Date), bindparam("user_id", type_=BigInteger)
    this_week = WeekUserTotal.week_start == week
    best = (
        select(WeekUserTotal.user_id, WeekUserTotal.actions, WeekUserTotal.co2e_g)
        .where(this_week)
        .order_by(WeekUserTotal.actions.desc(), WeekUserTotal.co2e_g.desc(), WeekUserTotal.user_id)
        .limit(bindparam("limit", type_=Integer))
        .subquery()
    )
    mine = func.coalesce(
        select(WeekUserTotal.actions)
        .where(this_week, WeekUserTotal.user_id == user_id)
        .correlate(None)
        .scalar_subquery(),
        0,
    )
    counts = WeekActionCount.week_start == week
    people = select(func.coalesce(func.sum(WeekActionCount.people), 0)).where(counts)
    better = people.where(WeekActionCount.actions > mine)
    return (
        select(
            best,
            User.first_name,
            ActionProfile.show_name,
            mine.label("mine"),
            people.correlate(None).scalar_subquery().label("people"),
            better.correlate(None).scalar_subquery().label("better"),
        )
        .join(User, User.id == best.c.user_id)
        .outerjoin(ActionProfile, ActionProfile.user_id == best.c.user_id)
        .order_by(best.c.actions.desc(), best.c.co2e_g.desc(), best.c.user_id)
    )


_PEOPLE = _people_statement()


async def people_board(
    session: AsyncSession, week: date, user_id: int, limit: int = PEOPLE_SHOWN
) -> PeopleBoard:
    """The week's best `limit` people, and the reader's standing, in one round trip: the
    standing rides on every row of the top as three scalar subqueries, each evaluated
    once (a round trip costs more than the rows it brings). `limit` is at least 1."""
    parameters = {"week": week, "user_id": user_id, "limit": limit}
    top = (await session.execute(_PEOPLE, parameters)).all()
    if not top:  # nobody logged an action this week, the reader included
        return PeopleBoard([], 0, None, 0)
    rows: list[PersonRow] = []
    for position, row in enumerate(top):
        tied = rows and rows[-1].actions == row.actions
        rank = rows[-1].rank if tied else position + 1
        name = row.first_name if row.show_name else None
        rows.append(PersonRow(rank, row.user_id, name, row.actions, row.co2e_g))
    my_actions = int(top[0].mine)
    my_rank = int(top[0].better) + 1 if my_actions else None
    return PeopleBoard(rows, int(top[0].people), my_rank, my_actions)


_TeamTuple = tuple[int, str, int, int]  # id, name, actions, active members


def _cross(a: _TeamTuple, b: _TeamTuple) -> tuple[int, int]:
    """a's and b's ratios over a common denominator. A team with an action has an active
    member, so a team with nobody active has 0 actions: 0/1."""
    return a[2] * max(b[3], 1), b[2] * max(a[3], 1)


def _ranking_key(team: _TeamTuple) -> tuple[float, int, int]:
    """Best ratio first, then most actions, then oldest.

    The ratio as a float orders teams exactly: IEEE division is correctly rounded, so
    equal ratios give equal floats; two different ratios p/q and r/s are at least 1/(q*s)
    apart, more than the spacing of doubles near them (ratio * 2**-52) as long as
    q * s * ratio < 2**52, e.g. teams under 100,000 active members logging under 100,000
    actions each a week. A key sort makes ~300 key calls where the cmp_to_key sort made
    ~2,000 comparisons (5 ms of the 20 ms budget)."""
    return (-(team[2] / max(team[3], 1)), -team[2], team[0])


# Built once, as _PEOPLE.
_TEAMS = (
    select(Team.id, Team.name, WeekTeamTotal.actions, WeekTeamTotal.active_members)
    .outerjoin(
        WeekTeamTotal,
        (WeekTeamTotal.team_id == Team.id)
        & (WeekTeamTotal.week_start == bindparam("week", type_=Date)),
    )
    .where(Team.contest_id == bindparam("contest_id", type_=Integer))
)


async def team_board(
    session: AsyncSession,
    contest: Contest,
    week: date,
    my_team_id: int | None = None,
    limit: int = TEAMS_SHOWN,
) -> TeamBoard:
    """Every team of the contest, best ratio first (then most actions, then oldest).

    A contest has at most a few hundred teams: they are read in one query and ranked
    here (equal ratios, compared exactly in integers, share a rank)."""
    rows = await session.execute(_TEAMS, {"week": week, "contest_id": contest.id})
    teams = [
        (team_id, name, int(actions or 0), int(active or 0))
        for team_id, name, actions, active in rows
    ]

    teams.sort(key=_ranking_key)
    # Rows are built for the teams shown and the reader's only: ranks still count every
    # team before them.
    shown: list[TeamRow] = []
    mine: TeamRow | None = None
    rank = 0
    for position, team in enumerate(teams):
        left, right = _cross(teams[position - 1], team) if position else (0, 1)
        if left != right:  # not tied with the team before (the first never is)
            rank = position + 1
        if position < limit or team[0] == my_team_id:
            row = TeamRow(rank, *team)
            if position < limit:
                shown.append(row)
            if team[0] == my_team_id:
                mine = row
        elif mine is not None or my_team_id is None:
            break
    return TeamBoard(contest, shown, len(teams), mine)


@dataclass(frozen=True, slots=True)
class Leaderboard:
    week: date
    people: PeopleBoard
    teams: list[TeamBoard]


async def weekly_leaderboard(
    session: AsyncSession, user_id: int, now: datetime, tz: tzinfo, chat_id: int | None = None
) -> Leaderboard:
    """This week's people, and the teams of the contests that concern the reader: those
    of the group it is asked in, else those the person has a team in."""
    week = week_of(now, tz)
    people = await people_board(session, week, user_id)
    mine = await member_teams(session, user_id)
    my_team = {m.contest.id: m.team.id for m in mine}
    contests = [m.contest for m in await teams_of_chat(session, chat_id)] if chat_id else []
    if not contests:
        contests = [m.contest for m in mine]
    boards = [await team_board(session, c, week, my_team.get(c.id)) for c in contests]
    return Leaderboard(week, people, boards)
