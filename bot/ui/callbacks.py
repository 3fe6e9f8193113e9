"""Every CallbackData of the bot, in one place.

Prefixes are short and fields are enums or ids, so each packs far below Telegram's
64-byte limit (tests check the worst case of each). Callback data comes from the
client and is never trusted: handlers re-check ownership and state in the services.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from bot.services.audiences import AudienceKind
from bot.services.catalogue import ActionCategory
from bot.services.nudges import NudgeKind

# Ids and numbers in callback data go to the database as they are: one beyond a 32-bit
# INTEGER column (forged data; PostgreSQL refuses it, SQLite's driver overflows past 64
# bits) must fail to unpack, so the stale-button answer handles it, instead of failing
# in the middle of a handler. Every id and number the bot puts in a button fits.
DbInt = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]


class Language(StrEnum):
    FR = "fr"
    EN = "en"


class LanguageCb(CallbackData, prefix="lg"):
    code: Language


class SettingsAction(StrEnum):
    LANGUAGE = "lang"
    CLOSE = "close"
    # Handled by handlers/notifications.py.
    NOTIFICATIONS = "notif"


class SettingsCb(CallbackData, prefix="st"):
    action: SettingsAction


# ---------------------------------------------------------------- makers directory ("m…")


class CategoryChoice(StrEnum):
    """A maker category, or ALL (no filter / no category given)."""

    ALL = "all"
    CLOTHING = "clothing"
    ACCESSORIES = "accessories"
    JEWELLERY = "jewellery"
    FURNITURE = "furniture"
    GAMES = "games"
    COSMETICS = "cosmetics"
    HOME = "home"
    FOOD = "food"
    REPAIR = "repair"
    OTHER = "other"


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


class MakersListCb(CallbackData, prefix="ml"):
    """Paging and filtering the nearest makers; the search itself (point, words) is in
    the person's conversation data, `search` tells which search the button belongs to."""

    action: MakersListAction
    search: DbInt
    offset: DbInt
    category: CategoryChoice


class WizardAction(StrEnum):
    CATEGORY = "c"
    KEEP = "k"
    SKIP = "s"
    SUBMIT = "ok"
    RESTART = "r"


class MakerWizardCb(CallbackData, prefix="mw"):
    action: WizardAction
    category: CategoryChoice


class ModerationAction(StrEnum):
    APPROVE = "a"
    REJECT = "r"


class ModerationCb(CallbackData, prefix="mm"):
    action: ModerationAction
    maker_id: DbInt


# ---------------------------------------------------------------- eco-actions, challenges, teams


class ActCategoryCb(CallbackData, prefix="ac"):
    """/act, first tap: a category."""

    category: ActionCategory


class ActLogCb(CallbackData, prefix="al"):
    """/act, second tap: the action, by its position in the catalogue."""

    index: DbInt


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


class ChallengeCb(CallbackData, prefix="ch"):
    action: ChallengeAction
    id: DbInt


class TeamJoinCb(CallbackData, prefix="tj"):
    team_id: DbInt


class TeamLeaveCb(CallbackData, prefix="tx"):
    team_id: DbInt


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


# ---------------------------------------------------------------- zero-waste offers ("o…", "r…")


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


class OfferWizardAction(StrEnum):
    CATEGORY = "c"
    PRESET = "t"
    MAKER = "m"
    SKIP = "s"
    PUBLISH = "ok"
    RESTART = "r"


class OfferCategoryChoice(StrEnum):
    NONE = "none"
    BAKERY = "bakery"
    PRODUCE = "produce"
    MEALS = "meals"
    DAIRY = "dairy"
    GROCERY = "grocery"
    OTHER = "other"


class PickupChoice(StrEnum):
    NONE = "none"
    IN_1H = "h1"
    IN_3H = "h3"
    TONIGHT = "tonight"
    TOMORROW = "tomorrow"


class OfferWizardCb(CallbackData, prefix="ow"):
    action: OfferWizardAction
    category: OfferCategoryChoice = OfferCategoryChoice.NONE
    pickup: PickupChoice = PickupChoice.NONE


class AlertCb(CallbackData, prefix="oa"):
    """A radius in km for new-offer alerts; 0 switches them off."""

    radius: DbInt


class ReportChoice(StrEnum):
    SPAM = "spam"
    UNSAFE = "unsafe"
    MISLEADING = "misleading"
    OFFENSIVE = "offensive"


class ReportCb(CallbackData, prefix="rp"):
    offer_id: DbInt
    reason: ReportChoice


class OfferModerationAction(StrEnum):
    REMOVE = "x"
    DISMISS = "d"


class OfferModerationCb(CallbackData, prefix="om"):
    action: OfferModerationAction
    offer_id: DbInt


# --- nudges and notification settings (handlers/notifications.py)


class NotifAction(StrEnum):
    QUIET = "q"
    CAP = "c"
    SNOOZE = "z"
    UNSNOOZE = "u"
    BACK = "b"


class NotifCb(CallbackData, prefix="n"):
    action: NotifAction


class NotifKindCb(CallbackData, prefix="nk"):
    kind: NudgeKind


class SnoozeCb(CallbackData, prefix="nz"):
    """The "snooze for a week" button carried by every nudge."""


# --- organiser broadcasts (handlers/broadcast.py)


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


# ---------------------------------------------------------------- neighbours ("gn"), /forget ("gf")


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


class ForgetAction(StrEnum):
    CONFIRM = "y"
    CANCEL = "n"


class ForgetCb(CallbackData, prefix="gf"):
    action: ForgetAction


ALL_CALLBACKS: tuple[type[CallbackData], ...] = (
    LanguageCb,
    SettingsCb,
    MakerCb,
    MakersListCb,
    MakerWizardCb,
    ModerationCb,
    ActCategoryCb,
    ActLogCb,
    ActNavCb,
    ActNameCb,
    ChallengeCb,
    TeamJoinCb,
    TeamLeaveCb,
    ContestCb,
    WizardCb,
    WizardCategoryCb,
    OfferCb,
    ReservationCb,
    OffersListCb,
    OfferWizardCb,
    AlertCb,
    ReportCb,
    OfferModerationCb,
    NotifCb,
    NotifKindCb,
    SnoozeCb,
    BroadcastAudienceCb,
    BroadcastTargetCb,
    BroadcastWizardCb,
    BroadcastCb,
    NeighboursCb,
    ForgetCb,
)
