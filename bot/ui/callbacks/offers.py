"""Callback data of zero-waste offers: cards, reservations, /offers paging, the /newoffer wizard, alerts, reports and their moderation."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.services.offers import PickupPreset
from bot.ui.callbacks.fields import DbInt
from models import OfferCategory, ReportReason


class OfferAction(StrEnum):
    OPEN = "o"
    RESERVE = "r"
    REPORT = "p"
    QR = "q"
    CLOSE = "c"
    # `offer_id` is then a maker's id: that maker's open offers.
    MAKER = "m"


class OfferCb(CallbackData, prefix="of"):
    action: OfferAction
    offer_id: DbInt


class ReservationAction(StrEnum):
    CANCEL = "c"
    CONFIRM = "k"


class ReservationCb(CallbackData, prefix="rs"):
    action: ReservationAction
    reservation_id: DbInt


class OffersListCb(CallbackData, prefix="ol"):
    """ "More" under /offers; the search point is in the person's conversation data."""

    search: DbInt
    offset: DbInt


class OffersPlaceCb(CallbackData, prefix="oe"):
    """ "Search elsewhere" under an empty /offers: asks for another place."""


class OfferWizardAction(StrEnum):
    CATEGORY = "c"
    PRESET = "t"
    MAKER = "m"
    SKIP = "s"
    PUBLISH = "ok"
    RESTART = "r"
    # The pickup window opens as soon as the offer is published.
    NOW = "n"
    # "Tomorrow 9:00?" after a time already passed today.
    YES = "y"
    NO = "x"


class OfferWizardCb(CallbackData, prefix="ow"):
    action: OfferWizardAction
    category: OfferCategory | None = None
    pickup: PickupPreset | None = None


class AlertCb(CallbackData, prefix="oa"):
    """A radius in km for new-offer alerts; 0 switches them off."""

    radius: DbInt


class ReportCb(CallbackData, prefix="rp"):
    offer_id: DbInt
    reason: ReportReason


class OfferModerationAction(StrEnum):
    REMOVE = "x"
    DISMISS = "d"


class OfferModerationCb(CallbackData, prefix="om"):
    action: OfferModerationAction
    offer_id: DbInt
