"""Callback data of /language, /settings and its notifications screen, the snooze button of nudges."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.core.settings import Language
from bot.services.nudges import NudgeKind


class LanguageCb(CallbackData, prefix="lg"):
    code: Language


class SettingsAction(StrEnum):
    LANGUAGE = "lang"
    CLOSE = "close"
    BACK = "back"  # from a sub-screen (language, neighbours) to the /settings screen
    # Handled by handlers/notifications.py.
    NOTIFICATIONS = "notif"


class SettingsCb(CallbackData, prefix="st"):
    action: SettingsAction


class NotifAction(StrEnum):
    QUIET = "q"
    CAP = "c"
    SNOOZE = "z"
    UNSNOOZE = "u"
    BACK = "b"


class NotifCb(CallbackData, prefix="n"):
    action: NotifAction


class NotifKindCb(CallbackData, prefix="nk"):
    kind: NudgeKind


class SnoozeCb(CallbackData, prefix="nz"):
    """The "snooze for a week" button carried by every nudge."""
