"""Callback data of the makers directory, the listing wizard (/maker) and listing moderation."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.ui.callbacks.fields import DbInt
from models import MakerCategory


class MakerAction(StrEnum):
    OPEN = "o"
    FAVOURITE = "f"
    UNFAVOURITE = "u"
    QR = "q"


class MakerCb(CallbackData, prefix="mc"):
    action: MakerAction
    maker_id: DbInt


class MakersListAction(StrEnum):
    MORE = "m"
    CATEGORY = "c"
    # Search from another place (the list's own is said in its header).
    PLACE = "p"


class MakersListCb(CallbackData, prefix="ml"):
    """Paging and filtering the nearest makers; the search itself (point, words) is in
    the person's conversation data, `search` tells which search the button belongs to."""

    action: MakersListAction
    search: DbInt
    offset: DbInt
    # None: every category.
    category: MakerCategory | None = None


class WizardAction(StrEnum):
    CATEGORY = "c"
    KEEP = "k"
    SKIP = "s"
    SUBMIT = "ok"
    RESTART = "r"
    # An eco-action the place enables, in or out (`index`: its place in the catalogue).
    ACTION = "a"


class MakerWizardCb(CallbackData, prefix="mw"):
    action: WizardAction
    # None: every category.
    category: MakerCategory | None = None
    index: DbInt = 0


class ModerationAction(StrEnum):
    APPROVE = "a"
    REJECT = "r"


class ModerationCb(CallbackData, prefix="mm"):
    action: ModerationAction
    maker_id: DbInt
