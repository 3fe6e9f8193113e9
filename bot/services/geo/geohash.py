"""Geohash cells: the coarse positions of engaged neighbours. Pure: no database.

A length-6 geohash is a cell of about 1.2 km x 0.6 km (at 45° N, 0.86 km x 0.61 km); a
position is turned into its cell before anything is stored, and only cell centres are
ever compared, so no stored value says more than "somewhere in this cell".
"""

from __future__ import annotations

import math

ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"
_INDEX = {char: index for index, char in enumerate(ALPHABET)}
CELL_LENGTH = 6
# Where nearby cells are looked up: a length-4 prefix covers about 39 km x 20 km.
AREA_LENGTH = 4


def encode(latitude: float, longitude: float, length: int = CELL_LENGTH) -> str:
    lat_range = [-90.0, 90.0]
    lon_range = [-180.0, 180.0]
    chars: list[str] = []
    bits = 0
    value = 0
    even = True
    while len(chars) < length:
        target, span = (longitude, lon_range) if even else (latitude, lat_range)
        middle = (span[0] + span[1]) / 2
        value <<= 1
        if target >= middle:
            value |= 1
            span[0] = middle
        else:
            span[1] = middle
        even = not even
        bits += 1
        if bits == 5:
            chars.append(ALPHABET[value])
            bits = 0
            value = 0
    return "".join(chars)


def bounds(cell: str) -> tuple[float, float, float, float]:
    """(south, west, north, east) of a cell; ValueError for a string that is not one."""
    if not cell or any(char not in _INDEX for char in cell):
        raise ValueError(f"not a geohash: {cell!r}")
    lat_range = [-90.0, 90.0]
    lon_range = [-180.0, 180.0]
    even = True
    for char in cell:
        code = _INDEX[char]
        for shift in range(4, -1, -1):
            span = lon_range if even else lat_range
            middle = (span[0] + span[1]) / 2
            if (code >> shift) & 1:
                span[0] = middle
            else:
                span[1] = middle
            even = not even
    return lat_range[0], lon_range[0], lat_range[1], lon_range[1]


def centre(cell: str) -> tuple[float, float]:
    south, west, north, east = bounds(cell)
    return (south + north) / 2, (west + east) / 2


def areas_around(latitude: float, longitude: float, radius_km: float) -> set[str]:
    """Every length-4 prefix whose area meets the box of `radius_km` around the point."""
    dlat = radius_km / 110.574
    cos_lat = max(math.cos(math.radians(latitude)), 0.01)
    dlon = min(radius_km / (111.320 * cos_lat), 180.0)
    south, north = max(latitude - dlat, -90.0), min(latitude + dlat, 90.0)
    west, east = longitude - dlon, longitude + dlon
    # Sampling more finely than an area's size (0.176° x 0.352°) meets every one of them.
    steps_lat = max(2, math.ceil((north - south) / 0.08) + 1)
    steps_lon = max(2, math.ceil((east - west) / 0.16) + 1)
    found: set[str] = set()
    for i in range(steps_lat):
        lat = south + (north - south) * i / (steps_lat - 1)
        for j in range(steps_lon):
            lon = west + (east - west) * j / (steps_lon - 1)
            lon = (lon + 180.0) % 360.0 - 180.0
            found.add(encode(min(lat, 89.999999), lon, AREA_LENGTH))
    return found
