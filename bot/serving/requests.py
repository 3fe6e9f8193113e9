"""Bot API request middlewares installed by create_bot."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageCaption,
    EditMessageMedia,
    EditMessageReplyMarkup,
    EditMessageText,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType

from bot.serving.middlewares.inbox import current_transaction
from bot.ui import calls
from bot.ui.editing import AnswerOrRaise

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response

logger = logging.getLogger(__name__)

_EDITS = (EditMessageText, EditMessageCaption, EditMessageReplyMarkup, EditMessageMedia)


def _harmless(method: TelegramMethod[Any], error: TelegramBadRequest) -> bool:
    message = error.message.lower()
    if isinstance(method, _EDITS):
        # Both taps of a double tap carry the old message: the second edit asks for what
        # the message already shows.
        return "message is not modified" in message
    if isinstance(method, AnswerCallbackQuery) and not isinstance(method, AnswerOrRaise):
        # Only the spinner is late: an update handled again after a restart, or after a
        # queue, still has its real work to do.
        return "query is too old" in message or "query id is invalid" in message
    return False


class TolerateStaleUi(BaseRequestMiddleware):
    """Turns Telegram's refusals that only mean "the screen is already right" or "too late
    for the spinner" into successes, so they never fail a handler (and roll back its
    changes) nor reach the person as an error."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as error:
            if not _harmless(method, error):
                raise
            logger.info("%s refused harmlessly: %s", type(method).__name__, error.message)
            # The session hands the result (not a Response) up the chain; True is what
            # Telegram answers both calls with when they succeed without a message.
            return cast("Response[TelegramType]", True)


class DurableCalls(BaseRequestMiddleware):
    """Inside an update, every call to Telegram goes through the update's transaction:
    what the handler changed is committed first, and a reply made once something is
    committed is kept in the outbox with that commit, then settled (bot.serving.middlewares
    .inbox.UpdateTransaction explains why). Elsewhere (the sender, start-up) a plain call."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        transaction = current_transaction()
        if transaction is None:
            return await make_request(bot, method)
        reply_id = await transaction.before_call(bot, method)
        if reply_id is None:
            return await make_request(bot, method)
        chat_id = calls.chat_of(method) or 0
        try:
            result = await make_request(bot, method)
        except TelegramAPIError as error:
            transaction.reply_failed(reply_id, chat_id, error)
            raise
        transaction.reply_sent(reply_id, chat_id, result)
        return result
