"""The last line of defence: log the trace, apologise briefly, keep serving."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent

from bot.ui.editing import AnswerOrRaise
from bot.ui.i18n import Translator

logger = logging.getLogger(__name__)


async def apologise(
    event: ErrorEvent,
    bot: Bot,
    translator: Translator,
    locale: str | None = None,
    saved_before_failure: bool = False,
) -> bool:
    update = event.update
    logger.error(
        "update %s failed",
        update.update_id,
        exc_info=(type(event.exception), event.exception, event.exception.__traceback__),
    )
    # Changes committed before the failure (bot.serving.middlewares.inbox) stay: say so.
    key = "errors.apology_saved" if saved_before_failure else "errors.apology"
    text = translator.t(key, locale or translator.default_locale)
    query = update.callback_query
    chat_id = update.message.chat.id if update.message is not None else None
    if query is not None:
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        try:
            await bot(AnswerOrRaise(callback_query_id=query.id, text=text, show_alert=True))
            return True
        except TelegramAPIError:
            # Most handlers answer the press first, and a press is answered only once.
            logger.info("press %s already answered: apologising in the chat", query.id)
    try:
        if chat_id is not None:
            await bot.send_message(chat_id, text)
    except TelegramAPIError:
        logger.warning("could not apologise for update %s", update.update_id, exc_info=True)
    return True


def create_router() -> Router:
    router = Router(name=__name__)
    router.errors.register(apologise)
    return router
