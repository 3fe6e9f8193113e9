"""Callback data of /contest and the challenge wizard (/newchallenge), organisers only."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.services.catalogue import ActionCategory
from bot.ui.callbacks.fields import DbInt


class ContestAction(StrEnum):
    LIST = "ls"
    NEW = "new"
    CLOSE = "cl"
    CONFIRM_CLOSE = "ccl"


class ContestCb(CallbackData, prefix="co"):
    """/contest (organisers)."""

    action: ContestAction
    id: DbInt


class ChallengeWizardAction(StrEnum):
    SKIP_DESCRIPTION = "skd"
    CATEGORIES_DONE = "cd"
    SCOPE_EVERYONE = "se"
    SCOPE_CONTEST = "sc"
    SCOPE_TEAM = "st"
    PICK_CONTEST = "pc"
    PICK_TEAM = "pt"
    NO_PLEDGE = "np"
    WEEKS = "w"
    CREATE = "ok"
    CANCEL = "x"


class WizardCb(CallbackData, prefix="cw"):
    """/newchallenge (organisers): `value` is an id or a number of weeks where it matters."""

    action: ChallengeWizardAction
    value: DbInt


class WizardCategoryCb(CallbackData, prefix="cc"):
    """/newchallenge: tick or untick a category of counted actions."""

    category: ActionCategory
