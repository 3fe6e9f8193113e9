"""Offline gazetteer: a typed French town name or postcode becomes a point, no network.

Backed by `data/fr_communes.csv.gz` (every French commune, Paris/Lyon/Marseille
arrondissement and delegated commune: ~37,000 rows, ~600 KB), built by
`scripts/make_fr_postcodes.py` from the same public data as the postcode table. It is
read once, on the first lookup, into a compact index keyed by a normalised name, so the
matching ignores accents, case, hyphens, apostrophes and "St"/"Saint" spellings. When
several communes share a name, metropolitan France wins over the overseas departments,
then the most populous; a commune's full name ("Le Havre") beats another's name without
its article ("Havre", also understood).

`create_geocoder` gives the geocoder of the GEOCODER setting behind one interface:
`offline` (this gazetteer) or `nominatim` (OpenStreetMap's Nominatim through geopy,
online; postcodes are still resolved offline first).

Pure: no Telegram type in or out.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import logging
import math
import re
import threading
import unicodedata
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import Literal, Protocol

from bot.core.settings import PROJECT_ROOT
from bot.services.geo import postcodes

logger = logging.getLogger(__name__)

DATA_FILE = PROJECT_ROOT / "data" / "fr_communes.csv.gz"
COUNTRY = "FR"
MAX_QUERY_LENGTH = 200
NOMINATIM_USER_AGENT = "greenhood-bot"
NOMINATIM_TIMEOUT_S = 5.0

_NON_WORD = re.compile(r"[\W_]+")
# Abbreviations people type for the words that start so many French place names.
_WORD_ALIASES = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_ARTICLE = re.compile(r"^(?:le|la|les|l|aux|las|los) ")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "ı": "i"})


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    latitude: float
    longitude: float
    country_code: str
    population: int
    # Placed at the door (an online geocoder's house or shop), not a town's centre.
    precise: bool = False


def validate_coordinates(lat: float, lon: float) -> bool:
    """True for a real point on Earth: finite, latitude in [-90, 90], longitude in [-180, 180]."""
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        return False
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


def normalize_name(text: str) -> str:
    """The matching key of a place name: "St-Étienne", "saint etienne" -> "saint etienne".

    Letters are folded to ASCII (accents dropped), so text in other scripts has no key.
    """
    folded = text.casefold()
    if not folded.isascii():
        folded = unicodedata.normalize("NFKD", folded.translate(_LIGATURES))
        folded = folded.encode("ascii", "ignore").decode("ascii")
    words = _NON_WORD.sub(" ", folded).split()
    if not _WORD_ALIASES.keys().isdisjoint(words):
        words = [_WORD_ALIASES.get(word, word) for word in words]
    return " ".join(words)


def lookup_place(query: str) -> Place | None:
    """The place a person means by `query` (a town name), or None if unknown."""
    query = query.strip()
    if not query or len(query) > MAX_QUERY_LENGTH:
        return None
    if postcodes.is_postcode(query):
        return lookup_postcode(query)
    key = normalize_name(query)
    if not key:
        return None
    return _gazetteer().get(key)


def lookup_postcode(postcode: str) -> Place | None:
    """A French postcode's main commune (bot/services/geo/postcodes.py)."""
    found = postcodes.lookup_postcode(postcode)
    if found is None:
        return None
    return Place(found.name, found.latitude, found.longitude, COUNTRY, 0)


def warm_up() -> None:
    """Load the gazetteer now (a fraction of a second), e.g. in a background thread."""
    _gazetteer()


class _Strings:
    """Many strings packed into one, read back by index (a few bytes each instead of ~60)."""

    __slots__ = ("_ends", "_text")

    def __init__(self, strings: list[str]) -> None:
        self._text = "".join(strings)
        self._ends = array("I", accumulate(len(string) for string in strings))

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index: int) -> str:
        start = self._ends[index - 1] if index else 0
        return self._text[start : self._ends[index]]


class _Gazetteer:
    """Places sorted by matching key, in parallel compact columns, searched by bisection."""

    def __init__(self, entries: dict[str, _Candidate]) -> None:
        keys = sorted(entries)
        chosen = [entries[key] for key in keys]
        self._keys = _Strings(keys)
        self._names = _Strings([entry[3] for entry in chosen])
        self._latitudes = array("d", (entry[4] for entry in chosen))
        self._longitudes = array("d", (entry[5] for entry in chosen))
        self._populations = array("q", (entry[2] for entry in chosen))

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, key: str) -> Place | None:
        index = bisect_left(self._keys, key)
        if index == len(self._keys) or self._keys[index] != key:
            return None
        return Place(
            name=self._names[index],
            latitude=self._latitudes[index],
            longitude=self._longitudes[index],
            country_code=COUNTRY,
            population=self._populations[index],
        )


# (own full name, metropolitan, population, name, latitude, longitude): the first three
# rank namesakes.
_Candidate = tuple[bool, bool, int, str, float, float]
_RANK = 3

_LOADING = threading.Lock()


def _gazetteer() -> _Gazetteer:
    # The lock makes a lookup wait for a load already running in another thread (a
    # warm-up) instead of starting a second one.
    with _LOADING:
        return _load_gazetteer()


@cache
def _load_gazetteer() -> _Gazetteer:
    """Every commune under its normalised name, the best one per name."""
    best: dict[str, _Candidate] = {}

    def offer(key: str, candidate: _Candidate) -> None:
        current = best.get(key)
        if current is None or candidate[:_RANK] > current[:_RANK]:
            best[key] = candidate

    with gzip.open(DATA_FILE, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            key = normalize_name(row["name"])
            if not key:
                continue
            # Overseas postcodes start with 97 or 98 (an empty one: a delegated commune).
            metropolitan = not row["postcode"].startswith(("97", "98"))
            population = int(row["population"] or 0)
            name, lat, lon = row["name"], float(row["latitude"]), float(row["longitude"])
            offer(key, (True, metropolitan, population, name, lat, lon))
            bare = _ARTICLE.sub("", key)
            if bare != key:
                offer(bare, (False, metropolitan, population, name, lat, lon))
    return _Gazetteer(best)


# ----------------------------------------------------------------------- the GEOCODER setting


class Geocoder(Protocol):
    async def locate(self, query: str) -> Place | None:
        """The place a person means by `query` (a town or a postcode), or None."""
        ...


class OfflineGeocoder:
    """The shipped gazetteer; the first call loads it in a worker thread."""

    async def locate(self, query: str) -> Place | None:
        return await asyncio.to_thread(lookup_place, query)


# Nominatim classes of areas and lines (a town, a street): their point is not a door.
_AREA_CLASSES = frozenset({"boundary", "place", "highway", "landuse", "natural", "waterway"})


def _at_the_door(raw: dict[str, object]) -> bool:
    """Whether a Nominatim result is a building, a shop or a house number (by its class
    and type, documented at nominatim.org/release-docs/latest/api/Output/)."""
    if raw.get("type") == "house" or raw.get("addresstype") in ("house", "building"):
        return True
    return raw.get("class") not in _AREA_CLASSES


class NominatimGeocoder:
    """OpenStreetMap's Nominatim (online, through geopy), limited to France; postcodes are
    resolved offline first. A network failure counts as "not found" (and is logged)."""

    def __init__(
        self, user_agent: str = NOMINATIM_USER_AGENT, timeout: float = NOMINATIM_TIMEOUT_S
    ) -> None:
        from geopy.geocoders import Nominatim

        self._client = Nominatim(user_agent=user_agent, timeout=timeout)

    def _geocode(self, query: str) -> Place | None:
        from geopy.exc import GeopyError

        try:
            found = self._client.geocode(query, exactly_one=True, country_codes=COUNTRY.lower())
        except GeopyError:
            logger.warning("Nominatim could not geocode %r", query, exc_info=True)
            return None
        if found is None:
            return None
        name = str(found.address).split(",")[0].strip() or query
        raw = getattr(found, "raw", None)
        raw = raw if isinstance(raw, dict) else {}
        return Place(
            name, float(found.latitude), float(found.longitude), COUNTRY, 0, _at_the_door(raw)
        )

    async def locate(self, query: str) -> Place | None:
        query = query.strip()
        if not query or len(query) > MAX_QUERY_LENGTH:
            return None
        if postcodes.is_postcode(query):
            return lookup_postcode(query)
        return await asyncio.to_thread(self._geocode, query)


def create_geocoder(kind: Literal["offline", "nominatim"]) -> Geocoder:
    if kind == "nominatim":
        return NominatimGeocoder()
    return OfflineGeocoder()
