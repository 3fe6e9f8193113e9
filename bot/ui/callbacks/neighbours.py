"""Callback data of /neighbours and /forget."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class NeighboursAction(StrEnum):
    ACCEPT = "a"
    DECLINE = "d"
    ANONYMOUS = "n"  # no public name
    RENAME = "r"
    POSITION = "p"  # share a new position
    HIDE = "h"
    SHOW = "s"
    PANEL = "o"  # from /settings: my neighbours privacy


class NeighboursCb(CallbackData, prefix="gn"):
    action: NeighboursAction
    # The panel opened from /settings keeps its way back there after every tap.
    from_settings: bool = False


class ForgetAction(StrEnum):
    CONFIRM = "y"
    CANCEL = "n"


class ForgetCb(CallbackData, prefix="gf"):
    action: ForgetAction
