"""Great-circle geometry for nearest-neighbour searches. Pure: no database, no Telegram.

Distances are haversine distances on a sphere of the Earth's mean radius. The same
arithmetic, in the same order, is also written as SQL (`haversine_sql`), so a scan
done by the database ranks exactly as one done here (both call the C library's
sin/cos/asin/sqrt on IEEE doubles).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from babel.numbers import format_decimal

EARTH_RADIUS_KM = 6371.0088
DIAMETER_KM = 2 * EARTH_RADIUS_KM
RADIANS = math.pi / 180.0
# Half the circumference: no two points are further apart; a box of this radius is the world.
MAX_DISTANCE_KM = math.pi * EARTH_RADIUS_KM
# Boxes are widened by this much (degrees) so float rounding never leaves out a point that
# lies exactly on the edge of the cap they must contain.
BOX_SLACK_DEGREES = 1e-9


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points given in degrees."""
    p1 = lat1 * RADIANS
    p2 = lat2 * RADIANS
    s1 = math.sin((p2 - p1) / 2)
    s2 = math.sin((lon2 * RADIANS - lon1 * RADIANS) / 2)
    h = s1 * s1 + math.cos(p1) * math.cos(p2) * s2 * s2
    return DIAMETER_KM * math.asin(math.sqrt(min(1.0, h)))


@dataclass(frozen=True, slots=True)
class Origin:
    """A query point with the terms every distance from it shares, precomputed."""

    latitude: float
    longitude: float
    p1: float
    l1: float
    cos_p1: float

    @classmethod
    def at(cls, latitude: float, longitude: float) -> Origin:
        p1 = latitude * RADIANS
        return cls(latitude, longitude, p1, longitude * RADIANS, math.cos(p1))

    def distance_km(self, latitude: float, longitude: float) -> float:
        """haversine_km(self, point), computed identically (bit for bit)."""
        p2 = latitude * RADIANS
        s1 = math.sin((p2 - self.p1) / 2)
        s2 = math.sin((longitude * RADIANS - self.l1) / 2)
        h = s1 * s1 + self.cos_p1 * math.cos(p2) * s2 * s2
        return DIAMETER_KM * math.asin(math.sqrt(min(1.0, h)))

    def sql_params(self) -> dict[str, float]:
        return {
            "geo_rad": RADIANS,
            "geo_p1": self.p1,
            "geo_l1": self.l1,
            "geo_cos_p1": self.cos_p1,
            "geo_diameter": DIAMETER_KM,
        }


def haversine_sql(latitude: str, longitude: str, dialect: str) -> str:
    """`Origin.distance_km` as an SQL expression over two column names, with the bind
    parameters of `Origin.sql_params` (SQLite needs its math functions, 3.35+)."""
    smallest = "least" if dialect == "postgresql" else "min"
    s1 = f"sin(({latitude} * :geo_rad - :geo_p1) / 2)"
    s2 = f"sin(({longitude} * :geo_rad - :geo_l1) / 2)"
    h = f"{s1} * {s1} + :geo_cos_p1 * cos({latitude} * :geo_rad) * {s2} * {s2}"
    return f":geo_diameter * asin(sqrt({smallest}(1.0, {h})))"


@dataclass(frozen=True, slots=True)
class Box:
    """A latitude/longitude rectangle in degrees (min_lon <= max_lon: never wraps)."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float


def cap_boxes(latitude: float, longitude: float, radius_km: float) -> list[Box]:
    """Boxes (one, or two across the antimeridian) holding every point within `radius_km`.

    The longitude half-width is that of the spherical cap's widest parallel; a cap that
    reaches a pole takes every longitude.
    """
    if radius_km >= MAX_DISTANCE_KM:
        return [Box(-90.0, 90.0, -180.0, 180.0)]
    angle = radius_km / EARTH_RADIUS_KM
    delta_lat = math.degrees(angle) + BOX_SLACK_DEGREES
    min_lat, max_lat = latitude - delta_lat, latitude + delta_lat
    if min_lat <= -90.0 or max_lat >= 90.0:
        return [Box(max(min_lat, -90.0), min(max_lat, 90.0), -180.0, 180.0)]
    ratio = math.sin(angle) / math.cos(latitude * RADIANS)
    if ratio >= 1.0:
        return [Box(min_lat, max_lat, -180.0, 180.0)]
    delta_lon = math.degrees(math.asin(ratio)) + BOX_SLACK_DEGREES
    if delta_lon >= 180.0:
        return [Box(min_lat, max_lat, -180.0, 180.0)]
    west, east = longitude - delta_lon, longitude + delta_lon
    if west < -180.0:
        return [Box(min_lat, max_lat, west + 360.0, 180.0), Box(min_lat, max_lat, -180.0, east)]
    if east > 180.0:
        return [Box(min_lat, max_lat, west, 180.0), Box(min_lat, max_lat, -180.0, east - 360.0)]
    return [Box(min_lat, max_lat, west, east)]


def format_distance(km: float, locale: str) -> str:
    """ "350 m", "2,4 km" (fr) / "2.4 km" (en), "12 km": as precise as a walk needs."""
    if km < 1.0:
        metres = max(10, round(km * 100) * 10)
        if metres < 1000:
            return f"{metres} m"
        km = 1.0
    pattern = "0.#" if km < 10 else "#,##0"
    return f"{format_decimal(round(km, 1), format=pattern, locale=locale)} km"
