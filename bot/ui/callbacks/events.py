"""Callback data of events: cards and answers, /events paging and filters, the /newevent
wizard, the organiser's tools and the moderation of proposals."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.services.catalogue import ActionCategory
from bot.services.events import Answer, StartPreset, Window
from bot.ui.callbacks.fields import DbInt
from models import EventCategory, Recurrence, RejectionReason


class EventAction(StrEnum):
    OPEN = "o"
    ICS = "c"
    QR = "q"
    # "I'm here", while the organiser's check-in is open.
    HERE = "h"
    # The organiser's tools.
    MANAGE = "m"
    ATTENDANCE = "a"
    EXPORT = "e"
    CHECKIN_QR = "k"
    OPEN_CHECKIN = "b"
    CANCEL = "d"
    CONFIRM_CANCEL = "dd"
    EDIT_TIME = "t"
    EDIT_PLACE = "p"
    EDIT_CAPACITY = "n"


class EventCb(CallbackData, prefix="ev"):
    action: EventAction
    event_id: DbInt


class RsvpCb(CallbackData, prefix="ea"):
    event_id: DbInt
    answer: Answer


class EventsListCb(CallbackData, prefix="el"):
    """ "More" and the filters under /events; the place is in the conversation's data."""

    search: DbInt
    offset: DbInt
    window: Window


class EventWizardAction(StrEnum):
    CATEGORY = "c"
    START = "s"
    DURATION = "d"
    MAKER = "m"
    CAPACITY = "n"
    ACTION_CATEGORY = "g"
    ACTION = "a"
    NO_ACTION = "o"
    RECURRENCE = "p"
    SKIP = "k"
    PUBLISH = "ok"
    RESTART = "r"


class EventWizardCb(CallbackData, prefix="ew"):
    action: EventWizardAction
    category: EventCategory | None = None
    preset: StartPreset | None = None
    group: ActionCategory | None = None
    recurrence: Recurrence | None = None
    # Hours of a duration, a capacity (0: no limit), or an action's index in the catalogue.
    value: DbInt = 0


class EventScopeCb(CallbackData, prefix="es"):
    """/newevent (organisers): for everyone (contest 0), a contest, or one of its teams."""

    contest: DbInt
    team: DbInt = 0


class EventModerationAction(StrEnum):
    APPROVE = "a"
    REJECT = "r"
    REASON = "w"


class EventModerationCb(CallbackData, prefix="em"):
    action: EventModerationAction
    event_id: DbInt
    reason: RejectionReason | None = None
