"""Where a person is, from what they typed: coordinates, a postcode or a town. Pure: no
Telegram (bot/ui/places.py reads the Telegram messages and calls this)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.services.geo.geocoding import MAX_QUERY_LENGTH, Geocoder, validate_coordinates

_DECIMAL = r"[-+]?\d{1,3}(?:[.,]\d{1,15})?"
# "44.84, -0.58", "44,84 ; -0,58", "44.84 -0.58": comma decimals need a separator.
_COORDINATES = re.compile(rf"^\s*({_DECIMAL})\s*(?:[;,/]\s*|\s+)({_DECIMAL})\s*$")
# A French postcode inside an address ("12 rue X, 33000 Bordeaux").
_POSTCODE_IN = re.compile(r"(?:^|[\s,])(\d{5})(?=$|[\s,])")


class LocationProblem(StrEnum):
    """Why no point came out of a message; a locale key suffix (location.<problem>)."""

    MISSING = "missing"
    INVALID = "invalid"
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class GivenLocation:
    latitude: float
    longitude: float
    # The town the person typed or the venue they sent; None for a bare point.
    label: str | None = None
    # A point at the door (a shared location, a venue, coordinates, an address the
    # geocoder placed), not a town's centre: only then may a street address be shown on it.
    precise: bool = True
    # The street part of a typed address whose town was found but not the street itself
    # ("12 rue Sainte-Catherine" of "12 rue Sainte-Catherine, Bordeaux").
    street: str | None = None


def parse_coordinates(text: str) -> tuple[float, float] | LocationProblem | None:
    """(lat, lon) if `text` is a pair of coordinates, INVALID if impossible ones, else None."""
    match = _COORDINATES.match(text)
    if match is None:
        return None
    latitude, longitude = (float(group.replace(",", ".")) for group in match.groups())
    if not validate_coordinates(latitude, longitude):
        return LocationProblem.INVALID
    return latitude, longitude


def point(
    latitude: float, longitude: float, label: str | None = None
) -> GivenLocation | LocationProblem:
    if not validate_coordinates(latitude, longitude):
        return LocationProblem.INVALID
    return GivenLocation(float(latitude), float(longitude), label)


async def resolve_text(text: str, geocoder: Geocoder) -> GivenLocation | LocationProblem:
    """Typed coordinates, or a town or postcode the geocoder knows."""
    query = " ".join(text.split())
    if not query:
        return LocationProblem.MISSING
    if len(query) > MAX_QUERY_LENGTH:
        return LocationProblem.NOT_FOUND
    coordinates = parse_coordinates(query)
    if isinstance(coordinates, LocationProblem):
        return coordinates
    if coordinates is not None:
        return GivenLocation(*coordinates)
    place = await geocoder.locate(query)
    if place is not None:
        return GivenLocation(place.latitude, place.longitude, place.name, precise=place.precise)
    return await _town_of_address(query, geocoder) or LocationProblem.NOT_FOUND


async def _town_of_address(query: str, geocoder: Geocoder) -> GivenLocation | None:
    """The town of a typed street address the geocoder cannot place as a whole: its postcode
    ("12 rue X 33000 Bordeaux") or its last comma-separated part ("12 rue X, Bordeaux"),
    at the town's centre (not precise), with the rest as the street."""
    postcode = _POSTCODE_IN.search(query)
    if postcode is not None:
        street = _street(query[: postcode.start()])
        place = await geocoder.locate(postcode.group(1))
        if street and place is not None:
            return GivenLocation(
                place.latitude, place.longitude, place.name, precise=False, street=street
            )
    head, comma, town = query.rpartition(",")
    street = _street(head)
    if not comma or not street or not town.strip():
        return None
    place = await geocoder.locate(town.strip())
    if place is None:
        return None
    return GivenLocation(place.latitude, place.longitude, place.name, precise=False, street=street)


def _street(text: str) -> str:
    return text.strip(" ,;-")
