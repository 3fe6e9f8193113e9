"""Queuing the notice that tells a maker listing's owner what an organiser decided
(approved, or rejected with the reason) in the outbox, in the owner's language, inside
the transaction of the decision (the caller commits; the sender delivers it under its
rate limit).

One notice per decision. The idempotency key names the listing, the decision and the
moment it was taken (`Maker.updated_at`, which approve_listing and reject_listing set):
the same decision queued again is one message, and it cannot be taken twice anyway (a
listing no longer pending raises AlreadyModeratedError, and a redelivered update is
dropped by the inbox in the same transaction). An owner who edits their listing puts it
back in moderation; the next decision, taken later, has its own key and is told too."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import outbox
from bot.services.outbox import Priority
from bot.ui.formatting import escape
from bot.ui.i18n import Translator
from bot.ui.notices import recipients
from models import Maker, MakerStatus

DECISIONS = (MakerStatus.APPROVED, MakerStatus.REJECTED)


def _decision(maker: Maker) -> MakerStatus:
    status = MakerStatus(maker.status)
    if status not in DECISIONS:
        raise ValueError(f"listing {maker.id} is {status.value}: no decision to tell")
    return status


def notice_key(maker: Maker) -> str:
    """maker:<id>:<approved|rejected>:<when it was decided, UTC to the microsecond>."""
    decided_at = maker.updated_at.astimezone(UTC).isoformat(timespec="microseconds")
    return f"maker:{maker.id}:{_decision(maker).value}:{decided_at}"


def render(translator: Translator, locale: str, maker: Maker) -> str:
    name = escape(maker.name)
    if _decision(maker) is MakerStatus.APPROVED:
        return translator.t("moderation.notify.approved", locale, name=name)
    reason = escape(maker.rejection_reason or "")
    return translator.t("moderation.notify.rejected", locale, name=name, reason=reason)


async def enqueue(
    session: AsyncSession, translator: Translator, maker: Maker, now: datetime
) -> bool:
    """Queue the owner's notice of the decision just taken on `maker`; True if it is new.
    Nobody is told when the listing has no owner (an imported one) or its owner blocked
    the bot (one who erased their data took their listing with them)."""
    if maker.owner_id is None:
        return False
    owner = await recipients.reachable(session, maker.owner_id)
    if owner is None:
        return False
    status = _decision(maker)
    return await outbox.enqueue(
        session,
        chat_id=owner.id,
        kind=f"maker.{status.value}",
        text=render(translator, recipients.locale_of(translator, owner), maker),
        key=notice_key(maker),
        now=now,
        priority=Priority.INTERACTIVE,
    )
