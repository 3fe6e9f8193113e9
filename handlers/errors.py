"""The last line of defence: log the trace, apologise briefly, keep serving."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent

from bot.i18n import Translator

router = Router(name=__name__)
logger = logging.getLogger(__name__)


@router.errors()
async def apologise(
    event: ErrorEvent, bot: Bot, translator: Translator, locale: str | None = None
) -> bool:
    update = event.update
    logger.error(
        "update %s failed",
        update.update_id,
        exc_info=(type(event.exception), event.exception, event.exception.__traceback__),
    )
    text = translator.t("errors.apology", locale or translator.default_locale)
    try:
        if update.callback_query is not None:
            await bot.answer_callback_query(update.callback_query.id, text=text, show_alert=True)
        elif update.message is not None:
            await bot.send_message(update.message.chat.id, text)
    except TelegramAPIError:
        logger.warning("could not apologise for update %s", update.update_id, exc_info=True)
    return True
