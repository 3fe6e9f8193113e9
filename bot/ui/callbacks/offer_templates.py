"""Callback data of recurring offers: repeating an offer (its days) and the templates
screen (pause, resume, skip the next one, take a skip back, delete)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.ui.callbacks.fields import DbInt


class TemplateAction(StrEnum):
    # `target` is an offer id: ask which days.
    NEW = "n"
    # `target` is an offer id, `days` the weekdays chosen so far (bit 0 = Monday).
    PICK = "p"
    SAVE = "d"
    LIST = "l"
    # `target` is a template id.
    PAUSE = "z"
    RESUME = "r"
    SKIP = "s"
    UNSKIP = "u"
    DELETE = "x"


class TemplateCb(CallbackData, prefix="tp"):
    action: TemplateAction
    target: DbInt = 0
    days: DbInt = 0
