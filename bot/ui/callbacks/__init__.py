"""The callback data of every button, one module per feature.

Prefixes are short and fields are enums or ids, so each packs far below Telegram's
64-byte limit (tests check the worst case of each). A field that names a choice uses the
enum of the models or services it means (a maker's category is `MakerCategory`; "no
choice" is None, packed as an empty field), so a button and the data it changes cannot
disagree. Callback data comes from the client and is never trusted: handlers re-check
ownership and state in the services.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from bot.ui.callbacks import (
    action_places,
    actions,
    broadcasts,
    events,
    makers,
    neighbours,
    offer_templates,
    offers,
    organisers,
    relay,
    settings,
)

FEATURES = (
    settings,
    makers,
    actions,
    action_places,
    organisers,
    offers,
    relay,
    offer_templates,
    broadcasts,
    neighbours,
    events,
)

# Every CallbackData class, in the order of FEATURES then of their modules.
ALL_CALLBACKS: tuple[type[CallbackData], ...] = tuple(
    value
    for module in FEATURES
    for value in vars(module).values()
    if isinstance(value, type)
    and issubclass(value, CallbackData)
    and value is not CallbackData
    and value.__module__ == module.__name__
)
