"""The /settings screen."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from bot.ui.i18n import t
from bot.ui.keyboards import settings_menu


def settings_view(locale: str) -> tuple[str, InlineKeyboardMarkup]:
    """The /settings text and buttons (also the target of "back" from sub-menus)."""
    language_name = t(f"language.name.{locale}")
    return t("settings.text", language=language_name), settings_menu()
