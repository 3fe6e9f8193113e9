"""Every CallbackData of the bot, in one place.

Prefixes are short and fields are enums or ids, so each packs far below Telegram's
64-byte limit (tests check the worst case of each). Callback data comes from the
client and is never trusted: handlers re-check ownership and state in the services.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.services.audiences import AudienceKind
from bot.services.nudges import NudgeKind


class Language(StrEnum):
    FR = "fr"
    EN = "en"


class LanguageCb(CallbackData, prefix="lg"):
    code: Language


class SettingsAction(StrEnum):
    LANGUAGE = "lang"
    CLOSE = "close"
    # Handled by handlers/notifications.py.
    NOTIFICATIONS = "notif"


class SettingsCb(CallbackData, prefix="st"):
    action: SettingsAction


# --- nudges and notification settings (handlers/notifications.py)


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


# --- organiser broadcasts (handlers/broadcast.py)


class BroadcastAudienceCb(CallbackData, prefix="ba"):
    audience: AudienceKind


class BroadcastStep(StrEnum):
    SKIP = "skip"
    SEND_NOW = "now"
    SCHEDULE = "later"
    IN_ONE_HOUR = "1h"
    TOMORROW_MORNING = "tm"
    CONFIRM_SCHEDULE = "ok"
    ABORT = "abort"


class BroadcastWizardCb(CallbackData, prefix="bw"):
    step: BroadcastStep


class BroadcastAction(StrEnum):
    STOP = "stop"


class BroadcastCb(CallbackData, prefix="b"):
    action: BroadcastAction
    broadcast_id: int


ALL_CALLBACKS: tuple[type[CallbackData], ...] = (
    LanguageCb,
    SettingsCb,
    NotifCb,
    NotifKindCb,
    SnoozeCb,
    BroadcastAudienceCb,
    BroadcastWizardCb,
    BroadcastCb,
)
