"""Queuing the "pledge met" notices (`PledgeMet`, from logging an eco-action) in the
outbox, each in its organiser's language, inside the transaction of the log that met the
pledge (the caller commits; the sender delivers them under its rate limit).

The service claims a challenge's week atomically before it returns a `PledgeMet`, and the
idempotency key names the challenge and the week, so the organiser is told once a week
however many logs pass the target."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import outbox
from bot.services.challenges import PLEDGE_NOTICE_KIND, PledgeMet
from bot.services.outbox import OutgoingMessage, Priority
from bot.ui.i18n import Translator
from bot.ui.views import actions as views
from models import User
from models.base import NOBODY


async def enqueue(
    session: AsyncSession, translator: Translator, pledges: Iterable[PledgeMet], now: datetime
) -> int:
    """Queue one notice per met pledge; returns how many were new. An organiser who
    erased their data (the challenge outlives them) or blocked the bot is not told."""
    messages: list[OutgoingMessage] = []
    for met in pledges:
        if met.organiser_id == NOBODY:
            continue
        organiser = await session.get(User, met.organiser_id)
        if organiser is not None and not organiser.is_active:
            continue
        locale = translator.resolve_locale(*met.organiser_languages)
        messages.append(
            OutgoingMessage(
                chat_id=met.organiser_id,
                kind=PLEDGE_NOTICE_KIND,
                text=views.pledge_notice(translator, locale, met.challenge, met.total),
                key=met.key,
                priority=Priority.INTERACTIVE,
            )
        )
    return await outbox.enqueue_many(session, messages, now)
