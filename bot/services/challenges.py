"""Weekly group challenges (PRODUCT.md §2.4): who may see and join them, their weekly
progress, the pledge, and the week rollover that archives each finished week.

A challenge counts the logs of its participants, of the actions it names, during its
run. Its scope says who may take part: everyone, the members of a contest's teams, or
the members of one team (in an open contest). Weeks are those of `bot.core.weeks`, in the
configured time zone: a week's total lives in `challenge_weeks`, live while the week
runs and archived by `roll_over` once it is over, so a new week starts at 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from weakref import WeakKeyDictionary

from sqlalchemy import BigInteger, ColumnElement, Date, Engine, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.weeks import local_midnight, week_of, weeks_between
from bot.services.catalogue import Catalogue, default_catalogue
from bot.services.contests import (
    ContestClosedError,
    ContestNotFoundError,
    Membership,
    TeamNotFoundError,
    member_teams,
    team_with_contest,
)
from bot.services.counters import bump, drop_if_zero, insert_missing, take
from bot.services.users import require_organiser
from models import (
    ActionLog,
    ActionProfile,
    Challenge,
    ChallengeContribution,
    ChallengeParticipant,
    ChallengeScope,
    ChallengeWeek,
    Contest,
    ContestStatus,
    Team,
    User,
    WeekRollover,
)
from models.base import UTCDateTime
from models.database import derived

TITLE_LIMIT = 80
DESCRIPTION_LIMIT = 600
PLEDGE_LIMIT = 300
# The outbox kind of the notice telling an organiser their pledge's target was met.
PLEDGE_NOTICE_KIND = "pledge.met"
TARGET_LIMIT = 1_000_000
LONGEST_RUN = timedelta(days=366)


class ChallengeNotFoundError(LookupError):
    """Unknown, deleted or over: nothing may be done with it any more."""


class NotEligibleError(PermissionError):
    """The challenge's scope leaves this person out (not in its contest or team); says
    which contest or team would let them in."""

    def __init__(
        self, challenge_id: int, scope: ChallengeScope, contest: str | None, team: str | None
    ) -> None:
        super().__init__(challenge_id)
        self.scope = scope
        self.contest = contest
        self.team = team


class InvalidDraftError(ValueError):
    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@dataclass(frozen=True, slots=True)
class ChallengeView:
    challenge: Challenge
    week_total: int
    joined: bool
    # Whether this person may join it (an organiser sees every challenge, some of them for
    # contests or teams they are not in: those offer no "join" that would refuse them).
    eligible: bool = True

    @property
    def fraction(self) -> float:
        return self.week_total / self.challenge.weekly_target

    @property
    def pledge_met(self) -> bool:
        return self.week_total >= self.challenge.weekly_target


@dataclass(frozen=True, slots=True)
class PledgeMet:
    """A pledge whose weekly target was just reached: its organiser is to be told (once),
    through the outbox in the log's transaction (bot/ui/notices/pledges.py)."""

    challenge: Challenge
    week: date
    total: int
    # The organiser's language choices, to tell them in their own language.
    organiser_languages: tuple[str | None, str | None]

    @property
    def organiser_id(self) -> int:
        return self.challenge.created_by

    @property
    def key(self) -> str:
        """The notice's idempotency key: one notice per challenge and week, ever."""
        return f"pledge:{self.challenge.id}:{self.week.isoformat()}"


@dataclass(frozen=True, slots=True)
class Contributors:
    named: list[tuple[str, int]]
    anonymous_people: int
    anonymous_actions: int


@dataclass(frozen=True, slots=True)
class ChallengeDraft:
    title: str
    description: str
    action_slugs: tuple[str, ...]
    weekly_target: int
    scope: ChallengeScope
    contest_id: int | None
    team_id: int | None
    pledge: str | None
    last_day: date


def is_running(challenge: Challenge, now: datetime) -> bool:
    return challenge.deleted_at is None and challenge.starts_at <= now < challenge.ends_at


def _running(now: datetime | ColumnElement[datetime]) -> list[ColumnElement[bool]]:
    return [
        Challenge.deleted_at.is_(None),
        Challenge.starts_at <= now,
        Challenge.ends_at > now,
    ]


def last_day(challenge: Challenge, tz: tzinfo) -> date:
    """The local date of the challenge's last day (it ends at 00:00 the day after)."""
    return (challenge.ends_at - timedelta(microseconds=1)).astimezone(tz).date()


def is_eligible(challenge: Challenge, memberships: Sequence[Membership]) -> bool:
    if challenge.scope is ChallengeScope.EVERYONE:
        return True
    if challenge.scope is ChallengeScope.CONTEST:
        return any(m.contest.id == challenge.contest_id for m in memberships)
    return any(m.team.id == challenge.team_id for m in memberships)


async def _week_totals(session: AsyncSession, ids: Iterable[int], week: date) -> dict[int, int]:
    ids = list(ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(ChallengeWeek.challenge_id, ChallengeWeek.total).where(
            ChallengeWeek.challenge_id.in_(ids), ChallengeWeek.week_start == week
        )
    )
    return {challenge_id: total for challenge_id, total in rows}


# Built once, the week, person and instant bound (building it at every /challenges cost
# more CPU than running it).
_VISIBLE = (
    select(Challenge, ChallengeWeek.total, ChallengeParticipant.user_id)
    .outerjoin(
        ChallengeWeek,
        (ChallengeWeek.challenge_id == Challenge.id)
        & (ChallengeWeek.week_start == bindparam("week", type_=Date)),
    )
    .outerjoin(
        ChallengeParticipant,
        (ChallengeParticipant.challenge_id == Challenge.id)
        & (ChallengeParticipant.user_id == bindparam("user_id", type_=BigInteger)),
    )
    .where(*_running(bindparam("now", type_=UTCDateTime())))
    .order_by(Challenge.id)
)


async def visible_challenges(
    session: AsyncSession, user_id: int, now: datetime, tz: tzinfo, *, everything: bool = False
) -> list[ChallengeView]:
    """Running challenges the person may take part in (all of them for an organiser when
    `everything`), oldest first, with this week's totals."""
    await roll_over(session, now, tz)
    # The challenges with this week's total and whether the person joined, in one query
    # (three round trips before: each costs more than the rows it brings).
    parameters = {"week": week_of(now, tz), "user_id": user_id, "now": now}
    rows = (await session.execute(_VISIBLE, parameters)).all()
    # Teams matter only to a challenge of a contest or a team.
    scoped = any(c.scope is not ChallengeScope.EVERYONE for c, _, _ in rows)
    memberships = await member_teams(session, user_id) if scoped else []
    return [
        ChallengeView(c, total or 0, joined is not None, is_eligible(c, memberships))
        for c, total, joined in rows
        if everything or is_eligible(c, memberships)
    ]


async def running_challenge(session: AsyncSession, challenge_id: int, now: datetime) -> Challenge:
    challenge = await session.get(Challenge, challenge_id)
    if challenge is None or not is_running(challenge, now):
        raise ChallengeNotFoundError(challenge_id)
    return challenge


async def challenge_view(
    session: AsyncSession, challenge_id: int, user_id: int, now: datetime, tz: tzinfo
) -> ChallengeView:
    await roll_over(session, now, tz)
    challenge = await running_challenge(session, challenge_id, now)
    totals = await _week_totals(session, [challenge.id], week_of(now, tz))
    joined = await session.get(ChallengeParticipant, (challenge.id, user_id)) is not None
    eligible = is_eligible(challenge, await member_teams(session, user_id))
    return ChallengeView(challenge, totals.get(challenge.id, 0), joined, eligible)


async def join_challenge(
    session: AsyncSession, challenge_id: int, user_id: int, now: datetime
) -> bool:
    """Join a running challenge the person is eligible for; False if already in."""
    challenge = await running_challenge(session, challenge_id, now)
    if not is_eligible(challenge, await member_teams(session, user_id)):
        contest = await session.get(Contest, challenge.contest_id) if challenge.contest_id else None
        team = await session.get(Team, challenge.team_id) if challenge.team_id else None
        raise NotEligibleError(
            challenge_id,
            challenge.scope,
            contest.name if contest else None,
            team.name if team else None,
        )
    # One person's updates are handled one at a time, so look-then-add cannot race.
    if await session.get(ChallengeParticipant, (challenge.id, user_id)) is not None:
        return False
    session.add(ChallengeParticipant(challenge_id=challenge.id, user_id=user_id, joined_at=now))
    await session.flush()
    return True


@dataclass(frozen=True, slots=True)
class EarlierLogs:
    """What joining added to a challenge: the person's logs of this week that it counts,
    made before they joined (and the pledges that reached)."""

    counted: int
    pledges: list[PledgeMet]


async def count_earlier_logs(
    session: AsyncSession, challenge_id: int, user_id: int, now: datetime, tz: tzinfo
) -> EarlierLogs:
    """Someone who joins on Thursday has usually already acted this week: their logs of
    this week that the challenge counts go into its total and their contribution. Only
    what is not counted yet (leaving and joining again adds nothing twice)."""
    challenge = await running_challenge(session, challenge_id, now)
    if await session.get(ChallengeParticipant, (challenge.id, user_id)) is None:
        return EarlierLogs(0, [])
    week = week_of(now, tz)
    logged = await session.scalar(
        select(func.count())
        .select_from(ActionLog)
        .where(
            ActionLog.user_id == user_id,
            ActionLog.week_start == week,
            ActionLog.action_slug.in_(challenge.action_slugs),
            ActionLog.logged_at >= challenge.starts_at,
        )
    )
    contribution = await session.get(ChallengeContribution, (challenge.id, week, user_id))
    missing = int(logged or 0) - (contribution.actions if contribution else 0)
    if missing <= 0:
        return EarlierLogs(0, [])
    (total,) = await bump(
        session,
        ChallengeWeek,
        {"challenge_id": challenge.id, "week_start": week},
        {"total": missing},
        extra={"pledge_met": False},
        returning=("total",),
    )
    await bump(
        session,
        ChallengeContribution,
        {"challenge_id": challenge.id, "week_start": week, "user_id": user_id},
        {"actions": missing},
    )
    reached = await _pledge_reached(session, challenge, week, total)
    return EarlierLogs(missing, [reached] if reached else [])


async def leave_challenge(
    session: AsyncSession, challenge_id: int, user_id: int, now: datetime
) -> bool:
    """Leave a running challenge; False if the person was not in it. What they already
    logged stays in the week's total."""
    await running_challenge(session, challenge_id, now)
    participant = await session.get(ChallengeParticipant, (challenge_id, user_id))
    if participant is None:
        return False
    await session.delete(participant)
    return True


async def top_contributors(
    session: AsyncSession, challenge_id: int, week: date, limit: int = 5
) -> Contributors:
    """The week's top contributors who agreed to be named; the others only as counts."""
    opted_in = ActionProfile.show_name.is_(True)
    base = (
        select(User.first_name, ChallengeContribution.actions)
        .join(User, User.id == ChallengeContribution.user_id)
        .outerjoin(ActionProfile, ActionProfile.user_id == ChallengeContribution.user_id)
        .where(
            ChallengeContribution.challenge_id == challenge_id,
            ChallengeContribution.week_start == week,
        )
    )
    rows = await session.execute(
        base.where(opted_in)
        .order_by(ChallengeContribution.actions.desc(), ChallengeContribution.user_id)
        .limit(limit)
    )
    people, actions = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(ChallengeContribution.actions), 0))
            .select_from(ChallengeContribution)
            .outerjoin(ActionProfile, ActionProfile.user_id == ChallengeContribution.user_id)
            .where(
                ChallengeContribution.challenge_id == challenge_id,
                ChallengeContribution.week_start == week,
                or_(ActionProfile.show_name.is_(None), ActionProfile.show_name.is_(False)),
            )
        )
    ).one()
    return Contributors([(name, count) for name, count in rows], int(people), int(actions))


async def running_joined(session: AsyncSession, user_id: int, now: datetime) -> list[Challenge]:
    """The running challenges the person takes part in: read by `log_action` before its
    first write, so the write lock is held for the writes only (models.database)."""
    challenges = await session.scalars(
        select(Challenge)
        .join(ChallengeParticipant, ChallengeParticipant.challenge_id == Challenge.id)
        .where(ChallengeParticipant.user_id == user_id, *_running(now))
        .order_by(Challenge.id)
    )
    return list(challenges)


async def record_progress(
    session: AsyncSession,
    challenges: Sequence[Challenge],
    user_id: int,
    slug: str,
    week: date,
    memberships: Sequence[Membership],
) -> tuple[list[ChallengeView], list[PledgeMet]]:
    """Count one log of `slug` for every challenge of `challenges` (running_joined) that
    counts it; return those challenges' new totals and the pledges this log met."""
    views: list[ChallengeView] = []
    met: list[PledgeMet] = []
    for challenge in challenges:
        if slug not in challenge.action_slugs or not is_eligible(challenge, memberships):
            continue
        (total,) = await bump(
            session,
            ChallengeWeek,
            {"challenge_id": challenge.id, "week_start": week},
            {"total": 1},
            extra={"pledge_met": False},
            returning=("total",),
        )
        await bump(
            session,
            ChallengeContribution,
            {"challenge_id": challenge.id, "week_start": week, "user_id": user_id},
            {"actions": 1},
        )
        views.append(ChallengeView(challenge, total, True))
        reached = await _pledge_reached(session, challenge, week, total)
        if reached is not None:
            met.append(reached)
    return views, met


async def undo_progress(session: AsyncSession, log: ActionLog) -> None:
    """Take back what a log that is being undone added to challenges: a contribution never
    counts more than the person's logs that challenge counts (those made while taking
    part, and those of the week before joining), so each contribution above that count
    once the log is gone loses the difference, and so does its week's total. A pledge the
    log met stays met: its organiser has been told, and the window to undo is short."""
    rows = await session.execute(
        select(Challenge, ChallengeContribution.actions)
        .join(ChallengeContribution, ChallengeContribution.challenge_id == Challenge.id)
        .where(
            ChallengeContribution.week_start == log.week_start,
            ChallengeContribution.user_id == log.user_id,
            ChallengeContribution.actions > 0,
        )
        .order_by(Challenge.id)
    )
    for challenge, counted in rows.all():
        if log.action_slug not in challenge.action_slugs:
            continue
        remaining = await session.scalar(
            select(func.count())
            .select_from(ActionLog)
            .where(
                ActionLog.user_id == log.user_id,
                ActionLog.week_start == log.week_start,
                ActionLog.action_slug.in_(challenge.action_slugs),
                ActionLog.logged_at >= challenge.starts_at,
                ActionLog.id != log.id,
            )
        )
        excess = counted - int(remaining or 0)
        if excess <= 0:
            continue
        keys = {"challenge_id": challenge.id, "week_start": log.week_start}
        await take(session, ChallengeWeek, keys, {"total": excess})
        mine = {**keys, "user_id": log.user_id}
        await take(session, ChallengeContribution, mine, {"actions": excess})
        await drop_if_zero(session, ChallengeContribution, mine, "actions")


async def _pledge_reached(
    session: AsyncSession, challenge: Challenge, week: date, total: int
) -> PledgeMet | None:
    """The pledge met by the week's new total, for the one change that met it."""
    if not challenge.pledge or total < challenge.weekly_target:
        return None
    if not await _claim_pledge(session, challenge, week):
        return None
    organiser = await session.get(User, challenge.created_by)
    languages = (organiser.language, organiser.telegram_language) if organiser else (None, None)
    return PledgeMet(challenge, week, total, languages)


async def _claim_pledge(session: AsyncSession, challenge: Challenge, week: date) -> bool:
    """Mark the week's pledge as met; True for the one log that did it (a conditional
    UPDATE, so two simultaneous logs cannot both tell the organiser)."""
    result = await session.execute(
        update(Challenge)
        .where(
            Challenge.id == challenge.id,
            or_(Challenge.pledge_met_week.is_(None), Challenge.pledge_met_week < week),
        )
        .values(pledge_met_week=week, pledge_met_weeks=Challenge.pledge_met_weeks + 1)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    await session.execute(
        update(ChallengeWeek)
        .where(ChallengeWeek.challenge_id == challenge.id, ChallengeWeek.week_start == week)
        .values(pledge_met=True)
    )
    await session.refresh(challenge)
    return True


async def roll_over(session: AsyncSession, now: datetime, tz: tzinfo) -> int:
    """Archive every finished week of every challenge and open the current week at 0.

    Idempotent and cheap once done for the current week (one primary-key lookup), so it is
    called lazily wherever weekly figures are read, and by the scheduler when it lands.
    Returns how many challenge-weeks it archived.
    """
    with derived(session):
        return await _roll_over(session, now, tz)


# The weeks each database is known to have rolled over into: a week's row is never
# removed, so once it is seen committed the look-up is skipped for the life of the process
# (one query fewer on every /challenges, challenge view and log). Keyed by engine: tests
# run many databases in one process.
_ROLLED: WeakKeyDictionary[Engine, set[date]] = WeakKeyDictionary()
# A row older than this was committed by an earlier update: one this very transaction
# inserted (and could still roll back) has the `now` of the same update.
_SETTLED = timedelta(minutes=1)


async def _roll_over(session: AsyncSession, now: datetime, tz: tzinfo) -> int:
    current = week_of(now, tz)
    engine = session.get_bind().engine
    if current in _ROLLED.get(engine, ()):
        return 0
    done = await session.get(WeekRollover, current)
    if done is not None:
        if done.done_at < now - _SETTLED:
            _ROLLED.setdefault(engine, set()).add(current)
        return 0
    archived_upto = (
        select(
            ChallengeWeek.challenge_id,
            func.max(ChallengeWeek.week_start).label("last"),
        )
        .where(ChallengeWeek.archived_at.is_not(None))
        .group_by(ChallengeWeek.challenge_id)
        .subquery()
    )
    rows = await session.execute(
        select(Challenge, archived_upto.c.last)
        .outerjoin(archived_upto, archived_upto.c.challenge_id == Challenge.id)
        .where(Challenge.deleted_at.is_(None), Challenge.starts_at < now)
    )
    missing: list[dict[str, object]] = []
    touched: list[int] = []
    for challenge, last_archived in rows:
        first = week_of(challenge.starts_at, tz)
        if last_archived is not None:
            first = max(first, last_archived + timedelta(days=7))
        # The week holding the challenge's last instant, or the current one if sooner.
        last = min(week_of(challenge.ends_at - timedelta(microseconds=1), tz), current)
        weeks = list(weeks_between(first, last)) if first <= last else []
        if not weeks:
            continue
        touched.append(challenge.id)
        missing.extend(
            {"challenge_id": challenge.id, "week_start": week, "total": 0, "pledge_met": False}
            for week in weeks
        )
    await insert_missing(session, ChallengeWeek, missing)
    archived = 0
    if touched:
        result = await session.execute(
            update(ChallengeWeek)
            .where(
                ChallengeWeek.challenge_id.in_(touched),
                ChallengeWeek.week_start < current,
                ChallengeWeek.archived_at.is_(None),
            )
            .values(archived_at=now)
            .execution_options(synchronize_session=False)
        )
        archived = int(result.rowcount or 0)  # type: ignore[attr-defined]
    await insert_missing(session, WeekRollover, [{"week_start": current, "done_at": now}])
    return archived


async def week_history(session: AsyncSession, challenge_id: int) -> list[ChallengeWeek]:
    rows = await session.scalars(
        select(ChallengeWeek)
        .where(ChallengeWeek.challenge_id == challenge_id)
        .order_by(ChallengeWeek.week_start)
    )
    return list(rows)


async def participant_count(session: AsyncSession, challenge_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(ChallengeParticipant)
        .where(ChallengeParticipant.challenge_id == challenge_id)
    )
    return int(count or 0)


def validate_title(text: str) -> str:
    title = " ".join(text.split())
    if not title or len(title) > TITLE_LIMIT:
        raise InvalidDraftError("title")
    return title


def validate_description(text: str) -> str:
    description = text.strip()
    if len(description) > DESCRIPTION_LIMIT:
        raise InvalidDraftError("description")
    return description


def validate_pledge(text: str) -> str:
    pledge = " ".join(text.split())
    if not pledge or len(pledge) > PLEDGE_LIMIT:
        raise InvalidDraftError("pledge")
    return pledge


def parse_target(text: str) -> int:
    cleaned = text.strip().replace(" ", "").replace("\u202f", "").replace("\xa0", "")
    if not cleaned.isdigit():
        raise InvalidDraftError("target")
    target = int(cleaned)
    if not 1 <= target <= TARGET_LIMIT:
        raise InvalidDraftError("target")
    return target


# The one-tap lengths of a new challenge, in weeks.
WEEK_PRESETS = (1, 4, 8)


def last_day_of_weeks(weeks: int, today: date) -> date:
    """The last day of a run of `weeks` weeks: this week and the following ones, ending on
    a Sunday (weeks start on Monday)."""
    if weeks not in WEEK_PRESETS:
        raise InvalidDraftError("end")
    return today + timedelta(days=6 - today.weekday(), weeks=weeks - 1)


def parse_last_day(text: str, today: date) -> date:
    """A date typed as 31/12/2026, 31/12, 31.12.2026 or 2026-12-31: today or later, within
    a year."""
    cleaned = text.strip()
    parsed: date | None = None
    try:
        if "-" in cleaned:
            parsed = date.fromisoformat(cleaned)
        else:
            parts = cleaned.replace(".", "/").split("/")
            if len(parts) in (2, 3) and all(p.isdigit() for p in parts):
                day, month = int(parts[0]), int(parts[1])
                year = int(parts[2]) if len(parts) == 3 else today.year
                if year < 100:
                    year += 2000
                parsed = date(year, month, day)
                if len(parts) == 2 and parsed < today:
                    parsed = date(year + 1, month, day)
    except ValueError:
        parsed = None
    if parsed is None or parsed < today or parsed > today + LONGEST_RUN:
        raise InvalidDraftError("end")
    return parsed


def catalogue_slugs(slugs: Iterable[str], catalogue: Catalogue | None = None) -> tuple[str, ...]:
    catalogue = catalogue or default_catalogue()
    chosen = set(slugs)
    ordered = tuple(action.slug for action in catalogue if action.slug in chosen)
    if not ordered or len(ordered) != len(chosen):
        raise InvalidDraftError("actions")
    return ordered


async def check_scope(
    session: AsyncSession, scope: ChallengeScope, contest_id: int | None, team_id: int | None
) -> tuple[int | None, int | None]:
    """The (contest, team) a scope refers to, checked to exist and be open."""
    if scope is ChallengeScope.EVERYONE:
        return None, None
    if scope is ChallengeScope.CONTEST:
        contest = await session.get(Contest, contest_id) if contest_id else None
        if contest is None:
            raise ContestNotFoundError(contest_id)
        if contest.status is not ContestStatus.OPEN:
            raise ContestClosedError(contest.id)
        return contest.id, None
    if team_id is None:
        raise TeamNotFoundError(team_id)
    team, contest = await team_with_contest(session, team_id)
    if contest.status is not ContestStatus.OPEN:
        raise ContestClosedError(contest.id)
    return contest.id, team.id


async def create_challenge(
    session: AsyncSession,
    draft: ChallengeDraft,
    actor_id: int,
    organiser_ids: Iterable[int],
    now: datetime,
    tz: tzinfo,
) -> Challenge:
    """Create a challenge that runs from now to the end of `draft.last_day` (local)."""
    await require_organiser(session, actor_id, organiser_ids)
    title = validate_title(draft.title)
    description = validate_description(draft.description)
    pledge = validate_pledge(draft.pledge) if draft.pledge else None
    slugs = catalogue_slugs(draft.action_slugs)
    if not 1 <= draft.weekly_target <= TARGET_LIMIT:
        raise InvalidDraftError("target")
    today = now.astimezone(tz).date()
    if draft.last_day < today or draft.last_day > today + LONGEST_RUN:
        raise InvalidDraftError("end")
    contest_id, team_id = await check_scope(session, draft.scope, draft.contest_id, draft.team_id)
    challenge = Challenge(
        title=title,
        description=description,
        action_slugs=list(slugs),
        weekly_target=draft.weekly_target,
        scope=draft.scope,
        contest_id=contest_id,
        team_id=team_id,
        pledge=pledge,
        starts_at=now,
        ends_at=local_midnight(draft.last_day + timedelta(days=1), tz),
        created_by=actor_id,
        created_at=now,
        pledge_met_weeks=0,
    )
    session.add(challenge)
    await session.flush()
    await insert_missing(
        session,
        ChallengeWeek,
        [
            {
                "challenge_id": challenge.id,
                "week_start": week_of(now, tz),
                "total": 0,
                "pledge_met": False,
            }
        ],
    )
    return challenge


async def delete_challenge(
    session: AsyncSession,
    challenge_id: int,
    actor_id: int,
    organiser_ids: Iterable[int],
    now: datetime,
) -> Challenge:
    """Take a challenge down (its archived weeks stay for the exports)."""
    await require_organiser(session, actor_id, organiser_ids)
    challenge = await session.get(Challenge, challenge_id)
    if challenge is None or challenge.deleted_at is not None:
        raise ChallengeNotFoundError(challenge_id)
    challenge.deleted_at = now
    return challenge
