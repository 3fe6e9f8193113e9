"""Bot API request middlewares installed by create_bot."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageCaption,
    EditMessageMedia,
    EditMessageReplyMarkup,
    EditMessageText,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType

from bot.serving.middlewares.inbox import commit_before_call
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


class CommitBeforeCalls(BaseRequestMiddleware):
    """Before any call to Telegram made while handling an update, commit what the handler
    has changed so far (bot.serving.middlewares.inbox explains why); a no-op elsewhere."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        await commit_before_call()
        return await make_request(bot, method)
