"""What action places look like: the actions line on a maker's card, the wizard's toggles,
a place's screen (opened by its counter QR), "where near me?" and its answer."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.services import action_places, actions, makers
from bot.services.action_places import NearPlace
from bot.services.catalogue import EcoAction, default_catalogue
from bot.services.geo.distance import format_distance
from bot.ui.callbacks.action_places import PlaceAction, PlaceCb
from bot.ui.formatting import escape
from bot.ui.i18n import current_translator, t
from models import Maker


def _locale() -> str:
    return str(current_translator().current_locale)


def _titles(items: list[EcoAction]) -> str:
    locale = _locale()
    return ", ".join(escape(action.title(locale)) for action in items)


def actions_line(maker: Maker) -> str | None:
    """On the card (and so in moderation): what one can do there."""
    items = action_places.actions_of(maker)
    if not items:
        return None
    return t("places.card.actions", actions=_titles(items))


def counter_qr_keyboard(maker_id: int) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        text=t("places.button.counter_qr"),
        callback_data=PlaceCb(action=PlaceAction.QR, maker_id=maker_id).pack(),
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def near_button(action: EcoAction) -> InlineKeyboardButton:
    index = actions.index_of(action)
    return InlineKeyboardButton(
        text=t("places.button.near"),
        callback_data=PlaceCb(action=PlaceAction.NEAR, index=index).pack(),
    )


def with_near_button(keyboard: InlineKeyboardMarkup, action: EcoAction) -> InlineKeyboardMarkup:
    """An action's screen (the reply to a log) plus "📍 Where near me?"."""
    rows = [*keyboard.inline_keyboard, [near_button(action)]]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def place_text(maker: Maker) -> str:
    return t("places.screen", name=escape(maker.name))


def place_keyboard(maker: Maker) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    locale = _locale()
    for action in action_places.actions_of(maker):
        builder.button(
            text=action.title(locale),
            callback_data=PlaceCb(
                action=PlaceAction.LOG, maker_id=maker.id, index=actions.index_of(action)
            ),
        )
    builder.adjust(1)
    return builder.as_markup()


def near_text(action: EcoAction, places: list[NearPlace]) -> str:
    title = escape(action.title(_locale()))
    if not places:
        return t("places.near.none", action=title)
    lines = [t("places.near.head", action=title)]
    for number, near in enumerate(places, start=1):
        maker = near.maker
        address = makers.shown_address(maker.address, maker.city, maker.pin_precise)
        where = f" · {escape(address)}" if address else ""
        distance = format_distance(near.distance_km, _locale())
        lines.append(f"{number}. <b>{escape(maker.name)}</b> · {distance}{where}")
    return "\n".join(lines)


def wizard_keyboard(
    chosen: str, toggle: Callable[[int], CallbackData], done: CallbackData
) -> InlineKeyboardMarkup:
    """The maker wizard's optional step: one toggle per catalogue action, then "done".
    `toggle(index)` and `done` are the wizard's callback data (its conversation owns it)."""
    builder = InlineKeyboardBuilder()
    locale = _locale()
    selected = set(chosen.split())
    for index, action in enumerate(default_catalogue()):
        mark = "✅ " if action.slug in selected else ""
        builder.button(
            text=f"{mark}{action.title(locale)}",
            callback_data=toggle(index),
        )
    builder.button(text=t("places.wizard.done"), callback_data=done)
    builder.adjust(*([2] * ((len(default_catalogue()) + 1) // 2)), 1)
    return builder.as_markup()
