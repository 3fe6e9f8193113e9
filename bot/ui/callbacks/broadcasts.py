"""Callback data of /broadcast, the organisers' announcement wizard, and a sent broadcast's stop button."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.services.audiences import AudienceKind
from bot.ui.callbacks.fields import DbInt


class BroadcastAudienceCb(CallbackData, prefix="ba"):
    audience: AudienceKind


class BroadcastTargetCb(CallbackData, prefix="ua"):
    """/broadcast: the challenge or contest an audience is about."""

    id: DbInt


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
    broadcast_id: DbInt
