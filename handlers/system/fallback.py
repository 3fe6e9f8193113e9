"""Last router: whatever no feature understood gets a helpful answer, never silence.

A place sent out of the blue (a location, a venue, a postcode, a town's name) is what
someone does to see what is near: it is kept as their current place, and the menu's
lists (makers, offers, events) use it at once."""

from __future__ import annotations

import re

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.core.clock import Clock
from bot.services.geo.geocoding import Geocoder, normalize_name
from bot.ui.filters import Magic
from bot.ui.formatting import escape
from bot.ui.i18n import t
from bot.ui.keyboards import main_menu
from bot.ui.places import GivenLocation, read_location, remember_location

_POSTCODE = re.compile(r"^\s*\d{5}\s*$")


async def unknown_command(message: Message) -> None:
    await message.answer(t("fallback.unknown_command"))


async def _place_noted(
    message: Message, state: FSMContext, clock: Clock, where: GivenLocation
) -> None:
    await remember_location(state, where, clock.now())
    place = escape(where.label) if where.label else t("makers.list.here")
    await message.answer(t("fallback.place_noted", place=place), reply_markup=main_menu())


async def stray_location(
    message: Message, state: FSMContext, clock: Clock, geocoder: Geocoder
) -> None:
    where = await read_location(message, geocoder)
    if not isinstance(where, GivenLocation):
        await message.answer(t("fallback.location"), reply_markup=main_menu())
        return
    await _place_noted(message, state, clock, where)


async def anything_else(
    message: Message, state: FSMContext, clock: Clock, geocoder: Geocoder
) -> None:
    text = message.text or ""
    if text and len(text) <= 60:
        # A postcode, coordinates, or exactly a town's name: a place, not a sentence.
        where = await read_location(message, geocoder)
        if isinstance(where, GivenLocation) and (
            _POSTCODE.match(text)
            or where.label is None
            or normalize_name(where.label) == normalize_name(text)
        ):
            await _place_noted(message, state, clock, where)
            return
    await message.answer(t("fallback.not_understood"), reply_markup=main_menu())


async def stale_button(query: CallbackQuery) -> None:
    # Forged, outdated, or from a feature that is gone: never act on it.
    await query.answer(t("fallback.stale_button"), show_alert=True)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(
        unknown_command, Magic(F.chat.type == "private"), Magic(F.text.startswith("/"))
    )
    router.message.register(
        stray_location, Magic(F.chat.type == "private"), Magic(F.location | F.venue)
    )
    router.message.register(anything_else, Magic(F.chat.type == "private"))
    router.callback_query.register(stale_button)
    return router
