"""Delivering the offers service's `Notice`s: each rendered in its recipient's language.

The one place offer notifications leave the bot, so switching their transport touches
nothing else (see `deliver`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import OfferAction, OfferCb
from bot.formatting import escape
from bot.i18n import Translator
from bot.services.offers import Notice, NoticeKind
from models import User

logger = logging.getLogger(__name__)


def locale_of(translator: Translator, user: User | None) -> str:
    return translator.resolve_locale(
        user.language if user else None, user.telegram_language if user else None
    )


def render(notice: Notice, translator: Translator, locale: str) -> str:
    params: dict[str, object] = {
        name: escape(value) if isinstance(value, str) else value
        for name, value in notice.params.items()
    }
    if notice.kind is NoticeKind.REMOVED:
        params["reason"] = translator.t(f"offers.report.reason.{notice.params['reason']}", locale)
    return translator.t(f"offers.notice.{notice.kind.value}", locale, **params)


def markup(notice: Notice, translator: Translator, locale: str) -> InlineKeyboardMarkup | None:
    """New-offer alerts and reminders carry a button that opens the offer's card."""
    if notice.kind not in (NoticeKind.ALERT, NoticeKind.REMINDER):
        return None
    button = InlineKeyboardButton(
        text=translator.t("offers.button.open", locale),
        callback_data=OfferCb(action=OfferAction.OPEN, offer_id=notice.offer_id).pack(),
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


async def deliver(
    bot: Bot, session: AsyncSession, translator: Translator, notices: Iterable[Notice]
) -> int:
    """Send each notice now; a recipient who blocked the bot is skipped. Returns how many
    were sent.

    Seam: the outbox (with its idempotency keys = `Notice.key`, and the notification
    preferences for alerts and reminders) replaces this direct sending once it is on main.
    """
    sent = 0
    for notice in notices:
        user = await session.get(User, notice.chat_id)
        locale = locale_of(translator, user)
        try:
            await bot.send_message(
                notice.chat_id,
                render(notice, translator, locale),
                reply_markup=markup(notice, translator, locale),
            )
            sent += 1
        except TelegramAPIError:
            logger.warning("could not deliver %s to %s", notice.key, notice.chat_id)
    return sent
