"""Bot API request middlewares installed by create_bot."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    EditMessageCaption,
    EditMessageMedia,
    EditMessageReplyMarkup,
    EditMessageText,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response

logger = logging.getLogger(__name__)

_EDITS = (EditMessageText, EditMessageCaption, EditMessageReplyMarkup, EditMessageMedia)


class NotModifiedIsSuccess(BaseRequestMiddleware):
    """An edit Telegram refuses as "message is not modified" asked for what the message
    already shows: a success. This happens on every double tap of an inline button (both
    taps carry the old message), and must not reach the person as an error."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as error:
            if not isinstance(method, _EDITS) or "message is not modified" not in error.message:
                raise
            logger.debug("%s: the message already shows this", type(method).__name__)
            # The session hands the result (not a Response) up the chain; True is what
            # Telegram answers an edit of an inline message with.
            return cast("Response[TelegramType]", True)
