"""Callback data of action places: log an action at a place (its counter QR's screen),
the counter QR for the listing's owner, and "where near me?" under a logged action."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.ui.callbacks.fields import DbInt


class PlaceAction(StrEnum):
    # `maker_id` and `index` (the action's position in the catalogue).
    LOG = "l"
    # `maker_id`: the counter QR (its owner only).
    QR = "q"
    # `index`: the nearest places enabling that action.
    NEAR = "n"


class PlaceCb(CallbackData, prefix="pa"):
    action: PlaceAction
    maker_id: DbInt = 0
    index: DbInt = 0
