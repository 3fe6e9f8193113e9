from __future__ import annotations

from typing import Any

from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser
from aiogram.utils.i18n import I18nMiddleware

from bot.ui.i18n import Translator
from models import User


class LocaleMiddleware(I18nMiddleware):
    """The person's chosen language, else Telegram's, else the default (French)."""

    def __init__(self, translator: Translator) -> None:
        super().__init__(translator)
        self.translator = translator

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("user")
        sender: TelegramUser | None = data.get("event_from_user")
        locale = self.translator.resolve_locale(
            user.language if user else None,
            sender.language_code if sender else None,
        )
        # Kept in `data` so the error handler, which runs after this context is gone,
        # can still apologise in the right language.
        data["locale"] = locale
        return locale
