"""Every CallbackData of the bot, in one place.

Prefixes are short and fields are enums or ids, so each packs far below Telegram's
64-byte limit (tests check the worst case of each). Callback data comes from the
client and is never trusted: handlers re-check ownership and state in the services.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class Language(StrEnum):
    FR = "fr"
    EN = "en"


class LanguageCb(CallbackData, prefix="lg"):
    code: Language


class SettingsAction(StrEnum):
    LANGUAGE = "lang"
    CLOSE = "close"


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
    maker_id: int


class MakersListAction(StrEnum):
    MORE = "m"
    CATEGORY = "c"


class MakersListCb(CallbackData, prefix="ml"):
    """Paging and filtering the nearest makers; the search itself (point, words) is in
    the person's conversation data, `search` tells which search the button belongs to."""

    action: MakersListAction
    search: int
    offset: int
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
    maker_id: int


ALL_CALLBACKS: tuple[type[CallbackData], ...] = (
    LanguageCb,
    SettingsCb,
    MakerCb,
    MakersListCb,
    MakerWizardCb,
    ModerationCb,
)
