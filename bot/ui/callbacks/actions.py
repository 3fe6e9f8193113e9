"""Callback data of /act, /me, /challenges and team membership."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.services.catalogue import ActionCategory
from bot.ui.callbacks.fields import DbInt
from bot.ui.pictures.cards import CardFormat


class ActCategoryCb(CallbackData, prefix="ac"):
    """/act, first tap: a category."""

    category: ActionCategory


class ActLogCb(CallbackData, prefix="al"):
    """/act, second tap: the action, by its position in the catalogue."""

    index: DbInt


class ActUndoCb(CallbackData, prefix="au"):
    """Undo a log, for a while after it (whose log it is is checked by the service)."""

    log_id: DbInt


class ActNav(StrEnum):
    CATEGORIES = "cats"  # back to the categories, in place
    AGAIN = "again"  # a fresh /act message, keeping the last result on screen


class ActNavCb(CallbackData, prefix="an"):
    to: ActNav


class NameChoice(StrEnum):
    SHOW = "show"
    HIDE = "hide"


class ActNameCb(CallbackData, prefix="ap"):
    """/me: show my first name in top contributors and leaderboards, or not."""

    choice: NameChoice


class ChallengeAction(StrEnum):
    LIST = "ls"
    VIEW = "v"
    JOIN = "j"
    LEAVE = "l"
    DELETE = "d"
    CONFIRM_DELETE = "dd"
    CARD = "c"


class ChallengeCb(CallbackData, prefix="ch"):
    action: ChallengeAction
    id: DbInt


class TeamJoinCb(CallbackData, prefix="tj"):
    team_id: DbInt


class TeamLeaveCb(CallbackData, prefix="tx"):
    team_id: DbInt


class MeCardCb(CallbackData, prefix="mec"):
    """/me's card in another shape (the story format)."""

    shape: CardFormat
