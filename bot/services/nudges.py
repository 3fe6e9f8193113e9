"""Nudges: who may get one, and when.

The policy is a pure function (`decide`) of a person's preferences, the kind of nudge, the
time and how many nudges they already have that day; `may_nudge` feeds it from the
database and `enqueue_nudge` queues the message through the outbox when allowed.

Nudge kinds are an enum the features extend: add a member here. /settings shows a switch
for each of `PERSON_KINDS`, every member sent to a person (its label is
`nudges.kind.<value>` in locales/*/LC_MESSAGES/).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import outbox
from bot.services.outbox import Priority
from models import NotificationPrefs, OutboxMessage, OutboxStatus, User

KIND_PREFIX = "nudge."
DEFAULT_QUIET = (22 * 60, 8 * 60)
DEFAULT_DAILY_CAP = 1
SNOOZE = timedelta(days=7)
# What /settings offers (minutes after midnight); None = no quiet hours.
QUIET_PRESETS: tuple[tuple[int, int] | None, ...] = (
    (22 * 60, 8 * 60),
    (21 * 60, 7 * 60),
    (23 * 60, 9 * 60),
    None,
)
CAP_CHOICES = (1, 2, 3)


class NudgeKind(StrEnum):
    KICKOFF = "kickoff"
    MIDWEEK = "midweek"
    MILESTONE = "milestone"
    SUMMARY = "summary"
    RECAP = "recap"
    PICKUP = "pickup"
    OFFER_ALERT = "offer_alert"
    # Reminders of an event one said "going" to: quiet hours and this switch apply, not
    # the daily cap (bot/ui/notices/events.py).
    EVENT_REMINDER = "event_reminder"

    @property
    def outbox_kind(self) -> str:
        return KIND_PREFIX + self.value


# The kinds a person receives, each with its own on/off switch in /settings. RECAP is a
# team's weekly recap, posted in the team's group, not to anyone: no person's switch
# could stop it, so none is offered.
PERSON_KINDS: tuple[NudgeKind, ...] = tuple(
    kind for kind in NudgeKind if kind is not NudgeKind.RECAP
)


class Refusal(StrEnum):
    INACTIVE = "inactive"
    OPTED_OUT = "opted_out"
    SNOOZED = "snoozed"
    CAPPED = "capped"
    ALREADY_QUEUED = "already_queued"


@dataclass(frozen=True, slots=True)
class Prefs:
    quiet: tuple[int, int] | None = DEFAULT_QUIET
    daily_cap: int = DEFAULT_DAILY_CAP
    opted_out: frozenset[str] = frozenset()
    snoozed_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    # When to deliver (the end of quiet hours if now is inside them); None if refused.
    deliver_at: datetime | None = None
    refusal: Refusal | None = None


def quiet_end_after(local: datetime, quiet: tuple[int, int] | None) -> datetime | None:
    """If `local` falls in the quiet hours, the local instant they end; else None."""
    if quiet is None:
        return None
    start, end = quiet
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else minute >= start or minute < end
    if not inside:
        return None
    end_time = time(end // 60, end % 60)
    candidate = datetime.combine(local.date(), end_time, tzinfo=local.tzinfo)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate


def delivery_time(prefs: Prefs, now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    end = quiet_end_after(local, prefs.quiet)
    return now if end is None else end.astimezone(UTC)


def decide(
    prefs: Prefs,
    kind: NudgeKind,
    now: datetime,
    zone: ZoneInfo,
    *,
    nudges_that_day: int,
    is_active: bool = True,
) -> Decision:
    """The policy. `nudges_that_day` counts nudges on the local day of delivery."""
    if not is_active:
        return Decision(False, refusal=Refusal.INACTIVE)
    if kind.value in prefs.opted_out:
        return Decision(False, refusal=Refusal.OPTED_OUT)
    deliver_at = delivery_time(prefs, now, zone)
    if prefs.snoozed_until is not None and deliver_at < prefs.snoozed_until:
        return Decision(False, refusal=Refusal.SNOOZED)
    if nudges_that_day >= prefs.daily_cap:
        return Decision(False, refusal=Refusal.CAPPED)
    return Decision(True, deliver_at=deliver_at)


def user_zone(user: User, default: str) -> ZoneInfo:
    for name in (user.timezone, default):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


async def load_prefs(session: AsyncSession, user_id: int) -> Prefs:
    row = await session.get(NotificationPrefs, user_id)
    if row is None:
        return Prefs()
    quiet = (
        None
        if row.quiet_start is None or row.quiet_end is None
        else (row.quiet_start, row.quiet_end)
    )
    return Prefs(
        quiet=quiet,
        daily_cap=row.daily_cap,
        opted_out=frozenset(row.opted_out or ()),
        snoozed_until=row.snoozed_until,
    )


async def _row(session: AsyncSession, user_id: int) -> NotificationPrefs:
    row = await session.get(NotificationPrefs, user_id)
    if row is None:
        row = NotificationPrefs(
            user_id=user_id,
            quiet_start=DEFAULT_QUIET[0],
            quiet_end=DEFAULT_QUIET[1],
            daily_cap=DEFAULT_DAILY_CAP,
            opted_out=[],
            snoozed_until=None,
        )
        session.add(row)
    return row


async def nudges_on_day(
    session: AsyncSession, user_id: int, day_of: datetime, zone: ZoneInfo
) -> int:
    """Nudges queued or sent to this person for the local day containing `day_of`."""
    local = day_of.astimezone(zone)
    start = datetime.combine(local.date(), time(0), tzinfo=zone).astimezone(UTC)
    end = (datetime.combine(local.date(), time(0), tzinfo=zone) + timedelta(days=1)).astimezone(UTC)
    return int(
        await session.scalar(
            select(func.count()).where(
                OutboxMessage.chat_id == user_id,
                OutboxMessage.kind.startswith(KIND_PREFIX),
                OutboxMessage.not_before >= start,
                OutboxMessage.not_before < end,
                OutboxMessage.status.not_in([OutboxStatus.CANCELLED, OutboxStatus.FAILED]),
            )
        )
        or 0
    )


async def may_nudge(
    session: AsyncSession, user: User, kind: NudgeKind, now: datetime, default_timezone: str
) -> Decision:
    prefs = await load_prefs(session, user.id)
    zone = user_zone(user, default_timezone)
    deliver_at = delivery_time(prefs, now, zone)
    count = await nudges_on_day(session, user.id, deliver_at, zone)
    return decide(prefs, kind, now, zone, nudges_that_day=count, is_active=user.is_active)


async def enqueue_nudge(
    session: AsyncSession,
    user: User,
    kind: NudgeKind,
    *,
    text: str,
    key: str,
    now: datetime,
    default_timezone: str,
    reply_markup: dict[str, Any] | None = None,
    photo_blob_id: int | None = None,
) -> Decision:
    """Queue a nudge if the policy allows it (deferred past quiet hours). A key already
    queued is not queued again, whatever the policy says now."""
    if await outbox.find(session, key) is not None:
        return Decision(False, refusal=Refusal.ALREADY_QUEUED)
    decision = await may_nudge(session, user, kind, now, default_timezone)
    if decision.allowed:
        await outbox.enqueue(
            session,
            chat_id=user.id,
            kind=kind.outbox_kind,
            text=text,
            key=key,
            now=now,
            reply_markup=reply_markup,
            photo_blob_id=photo_blob_id,
            not_before=decision.deliver_at,
            priority=Priority.NUDGE,
        )
    return decision


# --------------------------------------------------------------------------- settings


async def toggle_kind(session: AsyncSession, user_id: int, kind: NudgeKind) -> bool:
    """Switch one kind on or off; returns True if it is now on."""
    row = await _row(session, user_id)
    off = set(row.opted_out or ())
    if kind.value in off:
        off.discard(kind.value)
    else:
        off.add(kind.value)
    # A new list, so SQLAlchemy sees the JSON change.
    row.opted_out = sorted(off)
    return kind.value not in off


async def next_quiet_preset(session: AsyncSession, user_id: int) -> tuple[int, int] | None:
    row = await _row(session, user_id)
    current = (
        None
        if row.quiet_start is None or row.quiet_end is None
        else (row.quiet_start, row.quiet_end)
    )
    presets = list(QUIET_PRESETS)
    index = presets.index(current) if current in presets else -1
    chosen = presets[(index + 1) % len(presets)]
    row.quiet_start, row.quiet_end = (None, None) if chosen is None else chosen
    return chosen


async def next_cap(session: AsyncSession, user_id: int) -> int:
    row = await _row(session, user_id)
    choices = list(CAP_CHOICES)
    index = choices.index(row.daily_cap) if row.daily_cap in choices else -1
    row.daily_cap = choices[(index + 1) % len(choices)]
    return row.daily_cap


async def snooze_week(session: AsyncSession, user_id: int, now: datetime) -> datetime:
    row = await _row(session, user_id)
    row.snoozed_until = now + SNOOZE
    return row.snoozed_until


async def unsnooze(session: AsyncSession, user_id: int) -> None:
    row = await _row(session, user_id)
    row.snoozed_until = None
