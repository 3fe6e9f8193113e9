"""Who gets which scheduled nudge, and when (PRODUCT.md §2.4 recap, §2.6 nudges).

Plain data only: the rendering and the queuing are in bot/ui/notices/nudges.py.

Timing. A frequent job (bot/worker/jobs.py) asks, for each time zone present among active
people, which kinds are due there now: a kind is due from its local hour until the end of
that local day (kick-off Monday 09:00, mid-week Wednesday 18:00, summary Sunday 19:00).
Each person's nudge is keyed by (kind, person, their local week), and the key is checked
against the outbox, so:
- a tick that runs twice, or a worker restarted in the middle of a tick, sends nothing
  twice (the outbox's unique key), and whatever the first run had not reached yet is
  queued by the next tick (nothing lost);
- a worker down at 09:00 and back at 11:00 still sends Monday's kick-off at 11:00;
- a worker down all Monday does not send Monday's kick-off on Tuesday: the day is over.

Milestones are found by the same tick (every few minutes) from the challenges' weekly
totals, rather than in the action-logging path: a log stays one short transaction (no
fan-out to every participant in the logging person's request), a crossing can't be
missed by a crash between the log and the fan-out, and the catch-up is the same as for
the weekly kinds. Only the highest threshold reached is offered (no "50 %" after "90 %").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.weeks import week_of
from bot.services.catalogue import default_catalogue
from bot.services.nudges import NudgeKind
from models import (
    Challenge,
    ChallengeParticipant,
    ChallengeScope,
    ChallengeWeek,
    Contest,
    ContestStatus,
    OutboxMessage,
    Team,
    TeamMember,
    User,
    WeekTeamTotal,
    WeekUserTotal,
)

MILESTONES = (50, 90, 100)
# How many one-tap action buttons a nudge or a recap carries at most.
ACTION_BUTTONS = 6
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Slot:
    kind: NudgeKind
    weekday: int  # Monday = 0
    hour: int


SLOTS = (
    Slot(NudgeKind.KICKOFF, 0, 9),
    Slot(NudgeKind.MIDWEEK, 2, 18),
    Slot(NudgeKind.SUMMARY, 6, 19),
)
# Team groups have no time zone of their own: the configured one (the contest's town).
RECAP_SLOT = Slot(NudgeKind.RECAP, 6, 19)


def is_due(slot: Slot, now: datetime, zone: tzinfo) -> bool:
    """From the slot's local hour to the end of that local day."""
    local = now.astimezone(zone)
    return local.weekday() == slot.weekday and local.hour >= slot.hour


def due_kinds(now: datetime, zone: tzinfo) -> list[NudgeKind]:
    return [slot.kind for slot in SLOTS if is_due(slot, now, zone)]


def nudge_key(kind: NudgeKind, user_id: int, week: date, *extra: object) -> str:
    parts = ["nudge", kind.value, str(user_id), week.isoformat(), *map(str, extra)]
    return ":".join(parts)


def recap_key(team_id: int, week: date) -> str:
    return f"recap:{team_id}:{week.isoformat()}"


def resolve_zone(name: str | None, default: str) -> ZoneInfo:
    """As bot.services.nudges.user_zone, from the column value."""
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


# --------------------------------------------------------------------------- who


@dataclass(frozen=True, slots=True)
class ZoneGroup:
    zone: ZoneInfo
    kinds: list[NudgeKind]
    # The raw `users.timezone` values resolving to this zone (None: not set).
    names: list[str | None]


async def due_zone_groups(session: AsyncSession, now: datetime, default: str) -> list[ZoneGroup]:
    """The time zones present among active people where some weekly kind is due now."""
    names = list(
        await session.scalars(select(User.timezone).where(User.is_active.is_(True)).distinct())
    )
    by_zone: dict[str, list[str | None]] = defaultdict(list)
    zones: dict[str, ZoneInfo] = {}
    for name in names:
        zone = resolve_zone(name, default)
        by_zone[zone.key].append(name)
        zones[zone.key] = zone
    groups = []
    for key, zone_names in sorted(by_zone.items()):
        kinds = due_kinds(now, zones[key])
        if kinds:
            groups.append(ZoneGroup(zones[key], kinds, zone_names))
    return groups


async def people_in(session: AsyncSession, names: Sequence[str | None]) -> list[User]:
    """Active people whose `timezone` is one of `names` (None: unset)."""
    condition: ColumnElement[bool] = User.timezone.in_([n for n in names if n is not None])
    if None in names:
        condition = condition | User.timezone.is_(None)
    rows = await session.scalars(
        select(User).where(User.is_active.is_(True), condition).order_by(User.id)
    )
    return list(rows)


async def existing_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        rows = await session.scalars(
            select(OutboxMessage.idempotency_key).where(
                OutboxMessage.idempotency_key.in_(keys[start : start + CHUNK])
            )
        )
        found.update(rows)
    return found


# --------------------------------------------------------------------------- what


@dataclass(frozen=True, slots=True)
class ChallengeLine:
    id: int
    title: str
    total: int
    target: int


@dataclass(frozen=True, slots=True)
class KickoffPlan:
    joined: list[ChallengeLine]
    joinable: list[ChallengeLine]


@dataclass(frozen=True, slots=True)
class MidweekPlan:
    challenges: list[ChallengeLine]
    action_slugs: list[str]


@dataclass(frozen=True, slots=True)
class SummaryPlan:
    actions: int
    co2e_g: int
    challenges: list[ChallengeLine]


async def _running(session: AsyncSession, now: datetime) -> list[Challenge]:
    rows = await session.scalars(
        select(Challenge)
        .where(
            Challenge.deleted_at.is_(None),
            Challenge.starts_at <= now,
            Challenge.ends_at > now,
        )
        .order_by(Challenge.id)
    )
    return list(rows)


async def _totals(session: AsyncSession, ids: Sequence[int], week: date) -> dict[int, int]:
    if not ids:
        return {}
    rows = await session.execute(
        select(ChallengeWeek.challenge_id, ChallengeWeek.total).where(
            ChallengeWeek.challenge_id.in_(ids), ChallengeWeek.week_start == week
        )
    )
    return {challenge_id: total for challenge_id, total in rows}


async def _participations(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, set[int]]:
    joined: dict[int, set[int]] = defaultdict(set)
    for chunk in _chunks(user_ids):
        rows = await session.execute(
            select(ChallengeParticipant.user_id, ChallengeParticipant.challenge_id).where(
                ChallengeParticipant.user_id.in_(chunk)
            )
        )
        for user_id, challenge_id in rows:
            joined[user_id].add(challenge_id)
    return joined


async def _memberships(
    session: AsyncSession, user_ids: Sequence[int]
) -> dict[int, tuple[set[int], set[int]]]:
    """Per person: (teams, contests) in open contests."""
    result: dict[int, tuple[set[int], set[int]]] = defaultdict(lambda: (set(), set()))
    for chunk in _chunks(user_ids):
        rows = await session.execute(
            select(TeamMember.user_id, TeamMember.team_id, TeamMember.contest_id)
            .join(Contest, Contest.id == TeamMember.contest_id)
            .where(TeamMember.user_id.in_(chunk), Contest.status == ContestStatus.OPEN)
        )
        for user_id, team_id, contest_id in rows:
            teams, contests = result[user_id]
            teams.add(team_id)
            contests.add(contest_id)
    return result


def _eligible(challenge: Challenge, teams: set[int], contests: set[int]) -> bool:
    if challenge.scope is ChallengeScope.EVERYONE:
        return True
    if challenge.scope is ChallengeScope.CONTEST:
        return challenge.contest_id in contests
    return challenge.team_id in teams


def _line(challenge: Challenge, totals: dict[int, int]) -> ChallengeLine:
    return ChallengeLine(
        challenge.id, challenge.title, totals.get(challenge.id, 0), challenge.weekly_target
    )


async def kickoff_plans(
    session: AsyncSession, user_ids: Sequence[int], now: datetime, tz: tzinfo
) -> dict[int, KickoffPlan]:
    """This week's challenges each person takes part in or can join; nobody without any."""
    challenges = await _running(session, now)
    if not challenges:
        return {}
    totals = await _totals(session, [c.id for c in challenges], week_of(now, tz))
    joined = await _participations(session, user_ids)
    memberships = await _memberships(session, user_ids)
    plans: dict[int, KickoffPlan] = {}
    for user_id in user_ids:
        teams, contests = memberships[user_id]
        mine = joined.get(user_id, set())
        visible = [c for c in challenges if _eligible(c, teams, contests) or c.id in mine]
        if not visible:
            continue
        plans[user_id] = KickoffPlan(
            joined=[_line(c, totals) for c in visible if c.id in mine],
            joinable=[_line(c, totals) for c in visible if c.id not in mine],
        )
    return plans


async def midweek_plans(
    session: AsyncSession, user_ids: Sequence[int], now: datetime, tz: tzinfo
) -> dict[int, MidweekPlan]:
    """Participants of a running challenge who logged nothing at all this week, with the
    actions their challenges count."""
    challenges = {c.id: c for c in await _running(session, now)}
    if not challenges:
        return {}
    week = week_of(now, tz)
    totals = await _totals(session, list(challenges), week)
    joined = await _participations(session, user_ids)
    active: set[int] = set()
    for chunk in _chunks(user_ids):
        rows = await session.scalars(
            select(WeekUserTotal.user_id).where(
                WeekUserTotal.week_start == week,
                WeekUserTotal.user_id.in_(chunk),
                WeekUserTotal.actions > 0,
            )
        )
        active.update(rows)
    catalogue = default_catalogue()
    plans: dict[int, MidweekPlan] = {}
    for user_id in user_ids:
        mine = [challenges[i] for i in sorted(joined.get(user_id, ())) if i in challenges]
        if not mine or user_id in active:
            continue
        slugs: list[str] = []
        for challenge in mine:
            for slug in challenge.action_slugs:
                if slug not in slugs and catalogue.by_slug(slug) is not None:
                    slugs.append(slug)
        plans[user_id] = MidweekPlan([_line(c, totals) for c in mine], slugs[:ACTION_BUTTONS])
    return plans


async def summary_plans(
    session: AsyncSession, user_ids: Sequence[int], week: date
) -> dict[int, SummaryPlan]:
    """Each person's week (`week` names the challenges' week too) and the results of the
    challenges they take part in; nobody with neither."""
    figures: dict[int, tuple[int, int]] = {}
    for chunk in _chunks(user_ids):
        rows = await session.execute(
            select(WeekUserTotal.user_id, WeekUserTotal.actions, WeekUserTotal.co2e_g).where(
                WeekUserTotal.week_start == week, WeekUserTotal.user_id.in_(chunk)
            )
        )
        for user_id, actions, co2e_g in rows:
            figures[user_id] = (actions, co2e_g)
    joined = await _participations(session, user_ids)
    challenge_ids = sorted({i for ids in joined.values() for i in ids})
    challenges: dict[int, Challenge] = {}
    if challenge_ids:
        found = await session.scalars(
            select(Challenge).where(Challenge.id.in_(challenge_ids), Challenge.deleted_at.is_(None))
        )
        challenges = {c.id: c for c in found}
    weeks = await session.execute(
        select(ChallengeWeek.challenge_id, ChallengeWeek.total).where(
            ChallengeWeek.challenge_id.in_(list(challenges)), ChallengeWeek.week_start == week
        )
    )
    # Only challenges that ran during that week have a row for it.
    totals = {challenge_id: total for challenge_id, total in weeks}
    plans: dict[int, SummaryPlan] = {}
    for user_id in user_ids:
        actions, co2e_g = figures.get(user_id, (0, 0))
        lines = [
            _line(challenges[i], totals)
            for i in sorted(joined.get(user_id, ()))
            if i in challenges and i in totals
        ]
        if actions or lines:
            plans[user_id] = SummaryPlan(actions, co2e_g, lines)
    return plans


# --------------------------------------------------------------------------- milestones


@dataclass(frozen=True, slots=True)
class Milestone:
    challenge: ChallengeLine
    week: date
    threshold: int
    participants: list[User] = field(default_factory=list)


def reached(total: int, target: int) -> int | None:
    """The highest milestone (percent) `total` reaches, if any."""
    hits = [m for m in MILESTONES if total * 100 >= m * target]
    return hits[-1] if hits else None


async def milestones(session: AsyncSession, now: datetime, tz: tzinfo) -> list[Milestone]:
    """Running challenges at or past a milestone this week, with their active participants."""
    challenges = await _running(session, now)
    week = week_of(now, tz)
    totals = await _totals(session, [c.id for c in challenges], week)
    found: list[Milestone] = []
    for challenge in challenges:
        threshold = reached(totals.get(challenge.id, 0), challenge.weekly_target)
        if threshold is None:
            continue
        people = await session.scalars(
            select(User)
            .join(ChallengeParticipant, ChallengeParticipant.user_id == User.id)
            .where(ChallengeParticipant.challenge_id == challenge.id, User.is_active.is_(True))
            .order_by(User.id)
        )
        found.append(Milestone(_line(challenge, totals), week, threshold, list(people)))
    return found


def milestone_key(user_id: int, milestone: Milestone) -> str:
    return nudge_key(
        NudgeKind.MILESTONE,
        user_id,
        milestone.week,
        milestone.challenge.id,
        milestone.threshold,
    )


# --------------------------------------------------------------------------- team recaps


@dataclass(frozen=True, slots=True)
class TeamRecap:
    team_id: int
    chat_id: int
    team_name: str
    contest_name: str
    week: date
    actions: int
    co2e_g: int
    active_members: int
    members: int
    # Actions the team's challenges count, for the one-tap buttons.
    action_slugs: list[str]


async def team_recaps(session: AsyncSession, now: datetime, tz: tzinfo) -> list[TeamRecap]:
    """Every team of an open contest, with its week (the current week of `now`)."""
    week = week_of(now, tz)
    teams = list(
        (
            await session.execute(
                select(Team, Contest)
                .join(Contest, Contest.id == Team.contest_id)
                .where(Contest.status == ContestStatus.OPEN)
                .order_by(Team.id)
            )
        ).all()
    )
    if not teams:
        return []
    ids = [team.id for team, _ in teams]
    weeks = {
        row.team_id: row
        for row in await session.scalars(
            select(WeekTeamTotal).where(
                WeekTeamTotal.week_start == week, WeekTeamTotal.team_id.in_(ids)
            )
        )
    }
    members: dict[int, int] = defaultdict(int)
    for (team_id,) in await session.execute(
        select(TeamMember.team_id).where(TeamMember.team_id.in_(ids))
    ):
        members[team_id] += 1
    running = await _running(session, now)
    catalogue = default_catalogue()
    recaps = []
    for team, contest in teams:
        slugs: list[str] = []
        for challenge in running:
            if _eligible(challenge, {team.id}, {contest.id}):
                slugs.extend(s for s in challenge.action_slugs if s not in slugs)
        if not slugs:
            # No challenge for this team: the first action of each category.
            for category in catalogue.categories():
                first = next(iter(catalogue.in_category(category)), None)
                if first is not None:
                    slugs.append(first.slug)
        slugs = [s for s in slugs if catalogue.by_slug(s) is not None][:ACTION_BUTTONS]
        totals = weeks.get(team.id)
        recaps.append(
            TeamRecap(
                team_id=team.id,
                chat_id=team.chat_id,
                team_name=team.name,
                contest_name=contest.name,
                week=week,
                actions=totals.actions if totals else 0,
                co2e_g=totals.co2e_g if totals else 0,
                active_members=totals.active_members if totals else 0,
                members=members[team.id],
                action_slugs=slugs,
            )
        )
    return recaps
