"""Keyboards: layout only. What a button may do is decided by services, not here."""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.core.settings import Language
from bot.ui.callbacks.neighbours import NeighboursAction, NeighboursCb
from bot.ui.callbacks.settings import LanguageCb, SettingsAction, SettingsCb, SnoozeCb
from bot.ui.i18n import Translator, per_locale, t

MAIN_MENU_KEYS: tuple[tuple[str, str], ...] = (
    ("menu.makers", "menu.offers"),
    ("menu.act", "menu.challenges"),
    ("menu.neighbours", "menu.settings"),
)


@per_locale
def main_menu() -> ReplyKeyboardMarkup:
    rows = [[KeyboardButton(text=t(key)) for key in row] for row in MAIN_MENU_KEYS]
    return ReplyKeyboardMarkup(
        keyboard=rows, resize_keyboard=True, input_field_placeholder=t("menu.placeholder")
    )


@per_locale
def language_picker(current: str, *, back: bool = False) -> InlineKeyboardMarkup:
    """`back`: opened from /settings, so it leads back there."""
    builder = InlineKeyboardBuilder()
    for language in Language:
        mark = "✓ " if language.value == current else ""
        builder.button(
            text=mark + t(f"language.name.{language.value}"),
            callback_data=LanguageCb(code=language),
        )
    if back:
        builder.button(**settings_back_button())
        builder.adjust(2, 1)
    else:
        builder.adjust(2)
    return builder.as_markup()


def settings_back_button() -> dict[str, Any]:
    """The arguments of the "back to /settings" button of its sub-screens."""
    return {
        "text": t("settings.button.back"),
        "callback_data": SettingsCb(action=SettingsAction.BACK),
    }


@per_locale
def settings_menu() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t("settings.button.language"), callback_data=SettingsCb(action=SettingsAction.LANGUAGE)
    )
    builder.button(
        text=t("settings.button.notifications"),
        callback_data=SettingsCb(action=SettingsAction.NOTIFICATIONS),
    )
    builder.button(
        text=t("settings.button.neighbours"),
        callback_data=NeighboursCb(action=NeighboursAction.PANEL, from_settings=True),
    )
    builder.button(
        text=t("settings.button.close"), callback_data=SettingsCb(action=SettingsAction.CLOSE)
    )
    builder.adjust(1)
    return builder.as_markup()


def snooze_row(translator: Translator, locale: str) -> list[dict[str, Any]]:
    """The "snooze for a week" button every nudge carries, as outbox JSON (one keyboard
    row) in the recipient's `locale`: reply_markup={"inline_keyboard": [..., snooze_row()]}."""
    return [
        {
            "text": translator.t("nudges.button.snooze", locale),
            "callback_data": SnoozeCb().pack(),
        }
    ]
