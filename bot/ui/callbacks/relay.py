"""Callback data of the relay conversation of a reservation: write or reply, leave the
writing mode, block, report, and the moderators' decision on a report. Only the
reservation's id travels: who may do what is checked by bot/services/relay.py."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.ui.callbacks.fields import DbInt


class RelayAction(StrEnum):
    WRITE = "w"
    DONE = "d"
    # Asks first; BLOCK_CONFIRMED does it.
    BLOCK = "b"
    BLOCK_CONFIRMED = "k"
    REPORT = "p"


class RelayCb(CallbackData, prefix="rl"):
    action: RelayAction
    reservation_id: DbInt


class RelayModerationAction(StrEnum):
    CLOSE = "x"
    DISMISS = "d"


class RelayModerationCb(CallbackData, prefix="rm"):
    action: RelayModerationAction
    report_id: DbInt
