"""The map that comes with every "near me" answer (PRODUCT.md §2.2), built from the page
data the list itself shows: pin N is the list's item N.

A list is sent as the caption of its map (one message, map first, the buttons under
it), or, when too long for a caption, as the map and then the list. A list edited in
place (another category) gets its map replaced with it."""

from __future__ import annotations

import math
from typing import Any

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, InputMediaPhoto, Message

from bot.core.telegram_html import plain_text
from bot.services.geo import geohash
from bot.services.makers import NearbyPage
from bot.services.neighbours import K_ANONYMITY, Neighbourhood
from bot.services.offers import OffersPage
from bot.ui.editing import CANNOT_EDIT, edit_text
from bot.ui.i18n import current_translator, t
from bot.ui.pictures.maps import MapMaker, MapSpec, MapTexts, Pin, Ring

CAPTION_LIMIT = 1024


def map_texts(maps: MapMaker, locale: str) -> MapTexts:
    return MapTexts(
        here=t("maps.here"),
        attribution=maps.attribution or t("maps.attribution_osm"),
        offline=t("maps.offline"),
        locale=locale,
    )


def _here(search: dict[str, Any]) -> tuple[float, float] | None:
    try:
        latitude, longitude = float(search["lat"]), float(search["lon"])
    except (KeyError, TypeError, ValueError):
        return None
    return (latitude, longitude) if math.isfinite(latitude + longitude) else None


def makers_map(search: dict[str, Any], page: NearbyPage) -> MapSpec:
    pins = tuple(
        Pin(number, nearby.maker.latitude, nearby.maker.longitude)
        for number, nearby in enumerate(page.makers, start=page.offset + 1)
    )
    return MapSpec(pins=pins, here=_here(search))


def offers_map(search: dict[str, Any], page: OffersPage) -> MapSpec:
    pins = tuple(
        Pin(number, nearby.offer.latitude, nearby.offer.longitude)
        for number, nearby in enumerate(page.offers, start=page.offset + 1)
    )
    return MapSpec(pins=pins, here=_here(search))


def neighbours_map(view: Neighbourhood, cell: str) -> MapSpec | None:
    """The bands around the viewer's cell (about 1 km, never a finer point), each with how
    many engaged people it holds, or "too few"; no map when the area is too empty to
    say anything."""
    if view.too_few:
        return None
    rings = tuple(
        Ring(
            float(radius),
            t("maps.ring.count", radius=radius, count=count)
            if count is not None
            else t("maps.ring.too_few", radius=radius, k=K_ANONYMITY),
        )
        for radius, count in view.counts.items()
    )
    return MapSpec(here=geohash.centre(cell), rings=rings)


async def _picture(message: Message, maps: MapMaker, spec: MapSpec, name: str) -> BufferedInputFile:
    bot = message.bot
    if bot is None:  # pragma: no cover - every message the dispatcher hands over is bound
        raise RuntimeError("a message without its bot")
    me = await bot.me()
    maps.tiles.set_bot_name(me.username)
    locale = current_translator().current_locale
    drawn = await maps.draw(spec, map_texts(maps, locale))
    return BufferedInputFile(drawn.png, filename=f"{name}.png")


def _keyboard(markup: InlineKeyboardMarkup | None) -> object:
    if markup is None or not markup.inline_keyboard:
        return None
    return markup.model_dump(mode="json", exclude_none=True)


def fits_caption(text: str) -> bool:
    return len(plain_text(text)) <= CAPTION_LIMIT


async def answer_with_map(
    message: Message,
    maps: MapMaker,
    spec: MapSpec,
    text: str | None = None,
    reply_markup: InlineKeyboardMarkup | None = None,
    *,
    name: str = "map",
) -> None:
    """The map with `text` (and its buttons) as its caption; map then text when the text
    is too long for a caption."""
    picture = await _picture(message, maps, spec, name)
    if text is None or fits_caption(text):
        await message.answer_photo(picture, caption=text, reply_markup=reply_markup)
        return
    await message.answer_photo(picture)
    await message.answer(text, reply_markup=reply_markup)


async def edit_with_map(
    message: Message,
    maps: MapMaker,
    spec: MapSpec,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
    *,
    name: str = "map",
) -> None:
    """A list shown under its map, changed in place: a new map, the new text. A list
    shown without a map (sent before maps, or too long) is edited as text."""
    if not message.photo or not fits_caption(text):
        await edit_text(message, text, reply_markup)
        return
    if message.html_text == text and _keyboard(message.reply_markup) == _keyboard(reply_markup):
        # The same list (a button tapped again): the same map, nothing to change.
        return
    picture = await _picture(message, maps, spec, name)
    try:
        await message.edit_media(
            InputMediaPhoto(media=picture, caption=text), reply_markup=reply_markup
        )
    except TelegramBadRequest as error:
        if not any(reason in error.message for reason in CANNOT_EDIT):
            raise
        # Too old or gone: the new page as a new message.
        await message.answer_photo(picture, caption=text, reply_markup=reply_markup)
