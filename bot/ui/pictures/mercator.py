"""Web Mercator (EPSG:3857) as raster tile servers use it: the world is a square of
256 * 2**zoom pixels, x grows east from longitude -180, y grows south from latitude
+85.0511 (where the square ends). A picture is a window on that square at one integer
zoom, its top-left corner on a whole pixel, so tiles paste on whole pixels and a point's
pixel in the picture is exactly its world pixel minus the corner.

Pure arithmetic: no drawing, no I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

TILE_SIZE = 256
# The latitude where the Mercator square ends: atan(sinh(pi)).
MAX_LATITUDE = math.degrees(math.atan(math.sinh(math.pi)))
# WGS 84's equatorial radius: what the projection's metres are measured on.
EARTH_RADIUS_M = 6378137.0
MIN_ZOOM = 3
MAX_ZOOM = 17
# A lone point (or several at the same place) is shown at this zoom: a few streets around.
SINGLE_POINT_ZOOM = 15


def world_size(zoom: int) -> int:
    return TILE_SIZE << zoom


def world_pixel(latitude: float, longitude: float, zoom: int) -> tuple[float, float]:
    """The point's position in the world square at `zoom`, in (fractional) pixels."""
    size = world_size(zoom)
    latitude = max(-MAX_LATITUDE, min(MAX_LATITUDE, latitude))
    phi = math.radians(latitude)
    x = (longitude + 180.0) / 360.0 * size
    y = (1.0 - math.log(math.tan(phi) + 1.0 / math.cos(phi)) / math.pi) / 2.0 * size
    return x, y


def world_to_lat_lon(x: float, y: float, zoom: int) -> tuple[float, float]:
    """The inverse of `world_pixel`."""
    size = world_size(zoom)
    longitude = x / size * 360.0 - 180.0
    latitude = math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * y / size))))
    return latitude, longitude


def metres_per_pixel(latitude: float, zoom: int) -> float:
    """Ground distance one pixel covers at `latitude` (Mercator stretches it by 1/cos)."""
    return math.cos(math.radians(latitude)) * 2 * math.pi * EARTH_RADIUS_M / world_size(zoom)


@dataclass(frozen=True, slots=True)
class TileKey:
    zoom: int
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class Viewport:
    """A `width` x `height` window of the world square at `zoom`, whose top-left corner is
    the world pixel (`left`, `top`)."""

    zoom: int
    left: int
    top: int
    width: int
    height: int

    def pixel(self, latitude: float, longitude: float) -> tuple[float, float]:
        """Where a point falls in the picture (it may be outside it)."""
        x, y = world_pixel(latitude, longitude, self.zoom)
        return x - self.left, y - self.top

    def lat_lon(self, x: float, y: float) -> tuple[float, float]:
        """The point at a pixel of the picture."""
        return world_to_lat_lon(x + self.left, y + self.top, self.zoom)

    def bounds(self) -> tuple[float, float, float, float]:
        """(south, west, north, east) of the picture, in degrees."""
        north, west = self.lat_lon(0, 0)
        south, east = self.lat_lon(self.width, self.height)
        return south, west, north, east

    def tiles(self) -> Iterator[tuple[TileKey, int, int]]:
        """Every tile the picture shows, with where its top-left corner goes in the
        picture. Tiles repeat east and west (longitude wraps); nothing lies beyond the
        poles."""
        count = 1 << self.zoom
        first_x, first_y = self.left // TILE_SIZE, self.top // TILE_SIZE
        last_x = (self.left + self.width - 1) // TILE_SIZE
        last_y = (self.top + self.height - 1) // TILE_SIZE
        for ty in range(max(first_y, 0), min(last_y, count - 1) + 1):
            for tx in range(first_x, last_x + 1):
                key = TileKey(self.zoom, tx % count, ty)
                yield key, tx * TILE_SIZE - self.left, ty * TILE_SIZE - self.top


def fit(
    points: Iterable[tuple[float, float]],
    width: int,
    height: int,
    *,
    margin: int,
    bottom: int = 0,
    min_zoom: int = MIN_ZOOM,
    max_zoom: int = MAX_ZOOM,
    single_zoom: int = SINGLE_POINT_ZOOM,
) -> Viewport:
    """The closest view that shows every point at least `margin` pixels inside the picture
    (and `bottom` more above its lower edge, where the scale bar and the attribution go),
    centred on the points."""
    given = list(points)
    if not given:
        raise ValueError("a map needs at least one point")
    inner_width = width - 2 * margin
    inner_height = height - 2 * margin - bottom
    latitudes = [lat for lat, _ in given]
    longitudes = [lon for _, lon in given]
    chosen = min_zoom
    if max(latitudes) == min(latitudes) and max(longitudes) == min(longitudes):
        chosen = max(min_zoom, min(single_zoom, max_zoom))
    else:
        for zoom in range(max_zoom, min_zoom - 1, -1):
            pixels = [world_pixel(lat, lon, zoom) for lat, lon in given]
            xs = [x for x, _ in pixels]
            ys = [y for _, y in pixels]
            if max(xs) - min(xs) <= inner_width and max(ys) - min(ys) <= inner_height:
                chosen = zoom
                break
    pixels = [world_pixel(lat, lon, chosen) for lat, lon in given]
    xs = [x for x, _ in pixels]
    ys = [y for _, y in pixels]
    centre_x = (min(xs) + max(xs)) / 2
    # The drawable band is shifted up by half the bottom strip.
    centre_y = (min(ys) + max(ys)) / 2 + bottom / 2
    return Viewport(
        chosen, math.floor(centre_x - width / 2), math.floor(centre_y - height / 2), width, height
    )


def nice_distance(max_metres: float) -> float:
    """The longest 1, 2 or 5 times a power of ten metres not above `max_metres`."""
    if max_metres <= 0:
        return 0.0
    power = 10 ** math.floor(math.log10(max_metres))
    for step in (5, 2, 1):
        if step * power <= max_metres:
            return float(step * power)
    return float(power)
