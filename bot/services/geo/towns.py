"""The towns inside a box, biggest first, from the shipped gazetteer
(`data/fr_communes.csv.gz`, the file the offline geocoder reads): what a map drawn
without its tile background names so that it still says where it is.

Read once, on first use, into columns sorted by latitude (compact arrays, searched by
bisection). Pure: no Telegram, no network."""

from __future__ import annotations

import csv
import gzip
import threading
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cache
from itertools import accumulate

from bot.services.geo.geocoding import DATA_FILE


@dataclass(frozen=True, slots=True)
class Town:
    name: str
    latitude: float
    longitude: float
    population: int


class _Towns:
    __slots__ = ("_ends", "_latitudes", "_longitudes", "_names", "_populations")

    def __init__(self, rows: list[tuple[float, float, int, str]]) -> None:
        rows.sort()
        self._latitudes = array("d", (row[0] for row in rows))
        self._longitudes = array("d", (row[1] for row in rows))
        self._populations = array("q", (row[2] for row in rows))
        # Names packed into one string (a few bytes each instead of ~60 per str object).
        self._names = "".join(row[3] for row in rows)
        self._ends = array("I", accumulate(len(row[3]) for row in rows))

    def __len__(self) -> int:
        return len(self._latitudes)

    def _name(self, index: int) -> str:
        start = self._ends[index - 1] if index else 0
        return self._names[start : self._ends[index]]

    def within(
        self, south: float, west: float, north: float, east: float, limit: int
    ) -> list[Town]:
        first = bisect_left(self._latitudes, south)
        last = bisect_right(self._latitudes, north)
        longitudes = self._longitudes
        if west <= east:
            found = [i for i in range(first, last) if west <= longitudes[i] <= east]
        else:  # a box across the antimeridian
            found = [
                i for i in range(first, last) if longitudes[i] >= west or longitudes[i] <= east
            ]
        found.sort(key=lambda index: (-self._populations[index], self._name(index)))
        return [
            Town(
                self._name(index),
                self._latitudes[index],
                self._longitudes[index],
                self._populations[index],
            )
            for index in found[:limit]
        ]


_LOADING = threading.Lock()


@cache
def _load() -> _Towns:
    rows: list[tuple[float, float, int, str]] = []
    with gzip.open(DATA_FILE, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rows.append(
                (
                    float(row["latitude"]),
                    float(row["longitude"]),
                    int(row["population"] or 0),
                    row["name"],
                )
            )
    return _Towns(rows)


def towns_within(
    south: float, west: float, north: float, east: float, limit: int = 20
) -> list[Town]:
    """The `limit` most populous towns inside the box (degrees; west > east for a box
    across the antimeridian), most populous first."""
    with _LOADING:
        towns = _load()
    return towns.within(south, west, north, east, limit)
