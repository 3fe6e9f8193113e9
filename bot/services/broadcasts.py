"""Organiser broadcasts: validate, store, start (one outbox row per recipient), follow,
cancel and finish. Every entry point re-checks that the actor is an organiser."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.telegram_html import plain_text
from bot.core.typed_time import UnreadableTimeError, read_moment
from bot.services import audiences, outbox
from bot.services.audiences import AudienceKind
from bot.services.outbox import OutgoingMessage, Priority
from bot.services.users import require_organiser
from models import Broadcast, BroadcastStatus, OutboxStatus

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
BUTTON_LABEL_LIMIT = 64
URL_LIMIT = 1024
MAX_SCHEDULE_AHEAD = timedelta(days=60)
KIND = "broadcast"
PROGRESS_KIND = "broadcast.progress"
REPORT_KIND = "broadcast.report"


class BroadcastNotFoundError(LookupError):
    pass


class DraftError(ValueError):
    """A wizard answer that cannot be used; `code` names the localized explanation."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True, slots=True)
class Draft:
    audience: AudienceKind
    text: str
    audience_target_id: int | None = None
    photo_file_id: str | None = None
    button_label: str | None = None
    button_url: str | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    sent: int
    blocked: int
    failed: int
    cancelled: int
    waiting: int

    @property
    def done(self) -> int:
        return self.sent + self.blocked + self.failed + self.cancelled

    @property
    def finished(self) -> bool:
        return self.waiting == 0


def check_text(text: str, *, with_photo: bool) -> str:
    """The organiser's HTML, validated like Telegram does; returns it unchanged."""
    plain = plain_text(text).strip()
    if not plain:
        raise DraftError("empty")
    limit = CAPTION_LIMIT if with_photo else TEXT_LIMIT
    if len(plain) > limit:
        raise DraftError("too_long", limit=limit, length=len(plain))
    return text


def parse_button(answer: str) -> tuple[str, str]:
    """`Label | https://…` -> (label, url)."""
    label, separator, url = answer.rpartition("|")
    if not separator:
        raise DraftError("button_format")
    label, url = label.strip(), url.strip()
    if not label or len(label) > BUTTON_LABEL_LIMIT:
        raise DraftError("button_label", limit=BUTTON_LABEL_LIMIT)
    return label, check_url(url)


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or "." not in parts.hostname
        or len(url) > URL_LIMIT
        or re.search(r"\s", url)
    ):
        raise DraftError("button_url")
    return url


def check_draft(draft: Draft) -> None:
    if draft.audience not in audiences.available():
        raise DraftError("audience")
    if audiences.needs_target(draft.audience) and draft.audience_target_id is None:
        raise DraftError("audience")
    check_text(draft.text, with_photo=draft.photo_file_id is not None)
    if (draft.button_label is None) != (draft.button_url is None):
        raise DraftError("button_format")
    if draft.button_url is not None:
        check_url(draft.button_url)


def button_markup(label: str | None, url: str | None) -> dict[str, Any] | None:
    """The recipients' keyboard as JSON (the outbox stores plain data)."""
    if label is None or url is None:
        return None
    return {"inline_keyboard": [[{"text": label, "url": url}]]}


async def create(
    session: AsyncSession,
    *,
    actor_id: int,
    configured_organisers: Iterable[int],
    draft: Draft,
    locale: str,
    send_at: datetime,
    now: datetime,
) -> Broadcast:
    """Store a broadcast to start at `send_at` (now or later)."""
    await require_organiser(session, actor_id, configured_organisers)
    check_draft(draft)
    if send_at > now + MAX_SCHEDULE_AHEAD:
        raise DraftError("too_far")
    broadcast = Broadcast(
        organiser_id=actor_id,
        locale=locale,
        audience=draft.audience.value,
        audience_target_id=draft.audience_target_id,
        text=draft.text,
        photo_file_id=draft.photo_file_id,
        button_label=draft.button_label,
        button_url=draft.button_url,
        status=BroadcastStatus.SCHEDULED,
        send_at=max(send_at, now),
        recipients=0,
        created_at=now,
    )
    session.add(broadcast)
    await session.flush()
    return broadcast


async def get(session: AsyncSession, broadcast_id: int) -> Broadcast:
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise BroadcastNotFoundError(broadcast_id)
    return broadcast


async def start(session: AsyncSession, broadcast_id: int, now: datetime) -> Broadcast | None:
    """Queue one message per recipient, if the broadcast is due and not started yet.

    Safe to call twice (a job and the sweep racing, a retry after a crash): the status
    check and the per-recipient idempotency keys make the second call a no-op.
    """
    broadcast = await session.get(Broadcast, broadcast_id, with_for_update=True)
    if (
        broadcast is None
        or broadcast.status != BroadcastStatus.SCHEDULED
        or broadcast.send_at > now
    ):
        return None
    kind = AudienceKind(broadcast.audience)
    chat_ids = await audiences.resolve(session, kind, broadcast.audience_target_id)
    markup = button_markup(broadcast.button_label, broadcast.button_url)
    await outbox.enqueue_many(
        session,
        [
            OutgoingMessage(
                chat_id=chat_id,
                kind=KIND,
                text=broadcast.text,
                key=f"broadcast:{broadcast.id}:to:{chat_id}",
                photo_file_id=broadcast.photo_file_id,
                reply_markup=markup,
                priority=Priority.BULK,
                broadcast_id=broadcast.id,
            )
            for chat_id in chat_ids
        ],
        now,
    )
    broadcast.status = BroadcastStatus.SENDING
    broadcast.started_at = now
    broadcast.recipients = len(chat_ids)
    return broadcast


async def due(session: AsyncSession, now: datetime) -> list[int]:
    """Scheduled broadcasts whose time has come (the sweep's safety net)."""
    rows = await session.scalars(
        select(Broadcast.id)
        .where(Broadcast.status == BroadcastStatus.SCHEDULED, Broadcast.send_at <= now)
        .order_by(Broadcast.send_at)
    )
    return list(rows.all())


async def in_progress(session: AsyncSession) -> list[Broadcast]:
    rows = await session.scalars(
        select(Broadcast).where(Broadcast.status == BroadcastStatus.SENDING).order_by(Broadcast.id)
    )
    return list(rows.all())


async def progress(session: AsyncSession, broadcast: Broadcast) -> Progress:
    counts = await outbox.status_counts(session, broadcast.id)
    return Progress(
        total=broadcast.recipients,
        sent=counts.get(OutboxStatus.SENT, 0),
        blocked=counts.get(OutboxStatus.BLOCKED, 0),
        failed=counts.get(OutboxStatus.FAILED, 0),
        cancelled=counts.get(OutboxStatus.CANCELLED, 0),
        waiting=counts.get(OutboxStatus.PENDING, 0) + counts.get(OutboxStatus.SENDING, 0),
    )


async def finish_if_complete(
    session: AsyncSession, broadcast: Broadcast, now: datetime
) -> Progress | None:
    """Close a broadcast nothing is left to send for; returns its final figures."""
    figures = await progress(session, broadcast)
    if not figures.finished:
        return None
    if broadcast.status == BroadcastStatus.SENDING:
        broadcast.status = BroadcastStatus.DONE
    broadcast.finished_at = broadcast.finished_at or now
    return figures


@dataclass(frozen=True, slots=True)
class Cancelled:
    broadcast: Broadcast
    # False when it had already finished (nothing to stop).
    stopped: bool
    cancelled_messages: int


async def cancel(
    session: AsyncSession,
    *,
    broadcast_id: int,
    actor_id: int,
    configured_organisers: Iterable[int],
    now: datetime,
) -> Cancelled:
    """Stop a scheduled or sending broadcast: what has not started is never sent."""
    await require_organiser(session, actor_id, configured_organisers)
    broadcast = await session.get(Broadcast, broadcast_id, with_for_update=True)
    if broadcast is None:
        raise BroadcastNotFoundError(broadcast_id)
    if broadcast.status not in (BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING):
        return Cancelled(broadcast, stopped=False, cancelled_messages=0)
    was_sending = broadcast.status == BroadcastStatus.SENDING
    cancelled = await outbox.cancel_broadcast_messages(session, broadcast.id)
    broadcast.status = BroadcastStatus.CANCELLED
    if not was_sending:
        broadcast.finished_at = now
    return Cancelled(broadcast, stopped=True, cancelled_messages=cancelled)


async def cancelled_unfinished(session: AsyncSession) -> list[Broadcast]:
    """Cancelled while sending, report not written yet (finished_at unset)."""
    rows = await session.scalars(
        select(Broadcast).where(
            Broadcast.status == BroadcastStatus.CANCELLED,
            Broadcast.started_at.is_not(None),
            Broadcast.finished_at.is_(None),
        )
    )
    return list(rows.all())


def progress_key(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}:progress"


def report_key(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}:report"


async def progress_message_id(session: AsyncSession, broadcast_id: int) -> int | None:
    row = await outbox.find(session, progress_key(broadcast_id))
    return None if row is None else row.sent_message_id


MIN_LEAD = timedelta(minutes=1)


class SendPreset(StrEnum):
    """The one-tap times of the scheduling step."""

    IN_ONE_HOUR = "1h"
    TOMORROW_MORNING = "tm"


MORNING_HOUR = 9


def preset_send_time(preset: SendPreset, now: datetime, zone: ZoneInfo) -> datetime:
    """In an hour (rounded to the minute), or tomorrow at 09:00 in the bot's time zone."""
    local_now = now.astimezone(zone)
    if preset is SendPreset.IN_ONE_HOUR:
        when = (local_now + timedelta(hours=1, minutes=1)).replace(second=0, microsecond=0)
    else:
        when = (local_now + timedelta(days=1)).replace(
            hour=MORNING_HOUR, minute=0, second=0, microsecond=0
        )
    return _checked_send_time(when, now)


def parse_send_time(answer: str, now: datetime, zone: ZoneInfo) -> datetime:
    """A typed time in the bot's time zone -> UTC, read like every typed time of the bot
    (bot.core.typed_time: "18h30", "demain 9h", "24/12 18:00"); a bare time already
    passed today means tomorrow (the confirmation says "demain")."""
    try:
        typed = read_moment(answer, now, zone)
    except UnreadableTimeError:
        raise DraftError("time_format") from None
    return _checked_send_time(typed.moment, now)


def _checked_send_time(when: datetime, now: datetime) -> datetime:
    when_utc = when.astimezone(UTC)
    if when_utc < now + MIN_LEAD:
        raise DraftError("time_past")
    if when_utc > now + MAX_SCHEDULE_AHEAD:
        raise DraftError("too_far")
    return when_utc
