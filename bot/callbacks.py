"""Every CallbackData of the bot, in one place.

Prefixes are short and fields are enums or ids, so each packs far below Telegram's
64-byte limit (tests check the worst case of each). Callback data comes from the
client and is never trusted: handlers re-check ownership and state in the services.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class Language(StrEnum):
    FR = "fr"
    EN = "en"


class LanguageCb(CallbackData, prefix="lg"):
    code: Language


class SettingsAction(StrEnum):
    LANGUAGE = "lang"
    CLOSE = "close"


class SettingsCb(CallbackData, prefix="st"):
    action: SettingsAction


ALL_CALLBACKS: tuple[type[CallbackData], ...] = (LanguageCb, SettingsCb)
