"""Asking for a place and reading the answer, for every feature that needs one (makers,
offers, neighbours): a reply keyboard with a "share location" button and a hint to type a
town or a postcode; the answer may be a Telegram location (live ones too), a venue, or
text (coordinates, a postcode, a town), resolved by bot/services/geo/places.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import (
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)

from bot.services.geo.geocoding import Geocoder
from bot.services.geo.places import GivenLocation, LocationProblem, point, resolve_text
from bot.ui.formatting import escape, truncate
from bot.ui.i18n import t


def location_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=t("location.button.share"), request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=t("location.placeholder"),
    )


def location_prompt() -> str:
    return t("location.prompt")


async def read_location(message: Message, geocoder: Geocoder) -> GivenLocation | LocationProblem:
    """The place a message gives, or why it gives none."""
    if message.venue is not None:
        venue = message.venue
        return point(venue.location.latitude, venue.location.longitude, venue.title or None)
    if message.location is not None:
        return point(message.location.latitude, message.location.longitude)
    if message.text:
        return await resolve_text(message.text, geocoder)
    return LocationProblem.MISSING


def problem_text(problem: LocationProblem, message: Message) -> str:
    """A localized explanation that ends by asking again."""
    query = escape(truncate(" ".join((message.text or "").split()), 60))
    return t(f"location.{problem.value}", query=query)


__all__ = [
    "GivenLocation",
    "LocationProblem",
    "location_keyboard",
    "location_prompt",
    "problem_text",
    "read_location",
]


# A location shared this recently is used again without asking.
LOCATION_REUSE = timedelta(minutes=30)


def recent_location(data: dict[str, Any], now: datetime) -> GivenLocation | None:
    last = data.get("last_location")
    if not isinstance(last, dict):
        return None
    try:
        when = datetime.fromisoformat(str(last["at"]))
        if now - when > LOCATION_REUSE:
            return None
        return GivenLocation(float(last["lat"]), float(last["lon"]), last.get("label"))
    except (KeyError, TypeError, ValueError):
        return None


async def remember_location(state: FSMContext, where: GivenLocation, now: datetime) -> None:
    await state.update_data(
        last_location={
            "lat": where.latitude,
            "lon": where.longitude,
            "label": where.label,
            "at": now.isoformat(),
        }
    )
