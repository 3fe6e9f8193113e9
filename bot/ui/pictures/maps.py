"""The map picture that comes with every "near me" answer (PRODUCT.md §2.2): numbered pins
matching the list's numbers, the person's place, a scale bar and the tile source's
attribution, over raster tiles (bot/ui/pictures/tiles.py). Without tiles (offline, the
terminal chat, tests, a server that fails or a spent budget) the same picture is drawn on
a plain background, with the nearest towns of the shipped gazetteer named instead.

The neighbours' map has no pins: rings (the distance bands) around the viewer's coarse
cell, never anyone's point.

`MapMaker.draw` plans the view (bot/ui/pictures/mercator.py), fetches the tiles, then
draws in a small pool of worker threads (Pillow releases the GIL while it decodes and
composites; the event loop stays free), awaited. `render` is the pure drawing part.
"""

from __future__ import annotations

import asyncio
import io
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.services.geo.distance import format_distance
from bot.services.geo.towns import Town, towns_within
from bot.ui.pictures.common import INK, MUTED, font_px, png
from bot.ui.pictures.mercator import (
    TILE_SIZE,
    TileKey,
    Viewport,
    fit,
    metres_per_pixel,
    nice_distance,
)
from bot.ui.pictures.tiles import TileClient

# Pillow is imported when a map is drawn: a process that draws none saves its memory
# (benchmarks/memory.py).
if TYPE_CHECKING:
    from PIL import Image, ImageDraw

WIDTH = 960
HEIGHT = 720
MARGIN = 56
# Kept clear at the bottom for the scale bar and the attribution.
FOOTER = 44
PIN_RADIUS = 20
PIN_FILL = (216, 67, 21)
PIN_EDGE = (255, 255, 255)
HERE_FILL = (25, 118, 210)
HERE_RADIUS = 11
RING_COLOURS = ((46, 125, 50), (124, 179, 66), (175, 180, 43))
OFFLINE_BACKGROUND = (238, 243, 234)
OFFLINE_GRID = (224, 232, 219)
TOWN_DOT = (120, 134, 122)
TOWNS_SHOWN = 12
# Pictures are drawn two at a time at most: each holds ~10 MB while it is drawn.
DRAWING_THREADS = 2


@dataclass(frozen=True, slots=True)
class Pin:
    number: int
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Ring:
    """A distance band around `MapSpec.here`: its outer radius and what it says."""

    radius_km: float
    label: str


@dataclass(frozen=True, slots=True)
class MapTexts:
    """Every word on the map, in the reader's language."""

    here: str
    attribution: str
    offline: str
    locale: str


@dataclass(frozen=True, slots=True)
class MapSpec:
    pins: tuple[Pin, ...] = ()
    here: tuple[float, float] | None = None
    rings: tuple[Ring, ...] = ()
    width: int = WIDTH
    height: int = HEIGHT

    def points(self) -> list[tuple[float, float]]:
        """What the view must show: the pins, the place, each ring's four extremes."""
        points = [(pin.latitude, pin.longitude) for pin in self.pins]
        if self.here is not None:
            latitude, longitude = self.here
            points.append(self.here)
            for ring in self.rings:
                # Nine tenths of the way out: the widest band may be cut a little by the
                # edges rather than the whole map be shown a zoom level further out.
                dlat = ring.radius_km * 0.9 / 111.32
                dlon = dlat / max(math.cos(math.radians(latitude)), 0.01)
                points += [
                    (latitude + dlat, longitude),
                    (latitude - dlat, longitude),
                    (latitude, longitude + dlon),
                    (latitude, longitude - dlon),
                ]
        return points


@dataclass(frozen=True, slots=True)
class MapPicture:
    png: bytes
    view: Viewport
    tiles_drawn: int
    tiles_missing: int
    towns: tuple[str, ...] = field(default=())


def plan(spec: MapSpec) -> Viewport:
    if spec.rings:
        return fit(spec.points(), spec.width, spec.height, margin=8)
    return fit(spec.points(), spec.width, spec.height, margin=MARGIN, bottom=FOOTER)


# ----------------------------------------------------------------------------- drawing


@lru_cache(maxsize=128)
def _pin_sprite(number: int) -> Image.Image:
    """A numbered disc, drawn 4x and reduced (smooth edges), its centre at the middle of
    the sprite (odd size: the centre is a whole pixel)."""
    from PIL import Image, ImageDraw

    scale = 4
    size = 2 * (PIN_RADIUS + 4) + 1
    big = Image.new("RGBA", (size * scale, size * scale), (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)
    centre = size * scale / 2
    shadow = (PIN_RADIUS + 3) * scale
    draw.ellipse(
        (centre - shadow, centre - shadow + scale, centre + shadow, centre + shadow + scale),
        fill=(0, 0, 0, 60),
    )
    outer = (PIN_RADIUS + 2) * scale
    draw.ellipse((centre - outer, centre - outer, centre + outer, centre + outer), fill=PIN_EDGE)
    inner = PIN_RADIUS * scale
    draw.ellipse((centre - inner, centre - inner, centre + inner, centre + inner), fill=PIN_FILL)
    label = str(number)
    face = font_px("Bold", (24 if len(label) < 3 else 18) * scale)
    draw.text((centre, centre), label, font=face, fill=PIN_EDGE, anchor="mm")
    return big.resize((size, size), Image.Resampling.LANCZOS)


@lru_cache(maxsize=1)
def _here_sprite() -> Image.Image:
    from PIL import Image, ImageDraw

    scale = 4
    size = 2 * (HERE_RADIUS + 10) + 1
    big = Image.new("RGBA", (size * scale, size * scale), (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)
    centre = size * scale / 2
    for radius, colour in (
        (HERE_RADIUS + 10, (*HERE_FILL, 60)),
        (HERE_RADIUS + 3, (255, 255, 255, 255)),
        (HERE_RADIUS, (*HERE_FILL, 255)),
    ):
        r = radius * scale
        draw.ellipse((centre - r, centre - r, centre + r, centre + r), fill=colour)
    return big.resize((size, size), Image.Resampling.LANCZOS)


def _paste_centred(canvas: Image.Image, sprite: Image.Image, x: float, y: float) -> None:
    half = sprite.width // 2
    # The sprite as its own mask: blended over the (opaque) canvas, even across an edge.
    canvas.paste(sprite, (round(x) - half, round(y) - half), sprite)


def _label(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    size: int,
    fill: tuple[int, int, int],
) -> tuple[float, float, float, float]:
    face = font_px("Semibold", size)
    draw.text(xy, text, font=face, fill=fill, anchor="lm", stroke_width=3, stroke_fill="white")
    box = draw.textbbox(xy, text, font=face, anchor="lm", stroke_width=3)
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def _overlaps(box: tuple[float, float, float, float], boxes: list[tuple[float, ...]]) -> bool:
    return any(
        box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]
        for other in boxes
    )


def _draw_towns(
    canvas: Image.Image, view: Viewport, towns: Sequence[Town], keep_clear: list[tuple[float, ...]]
) -> list[str]:
    """Dots and names, biggest towns first, none over another or over a pin."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(canvas)
    named: list[str] = []
    taken = list(keep_clear)
    for town in towns:
        x, y = view.pixel(town.latitude, town.longitude)
        if not (8 <= x <= view.width - 120 and 16 <= y <= view.height - FOOTER - 8):
            continue
        face = font_px("Semibold", 22)
        right = x + 10 + face.getlength(town.name)
        box = (x - 5, y - 14, right + 3, y + 14)
        if right > view.width - 4 or _overlaps(box, taken):
            continue
        taken.append(box)
        draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=TOWN_DOT, outline="white", width=1)
        _label(draw, (x + 10, y), town.name, 22, MUTED)
        named.append(town.name)
        if len(named) == TOWNS_SHOWN:
            break
    if not named and towns:
        # Every town's point is under a pin or the place (a view inside one town): that
        # town's name, in a corner, still says where the map is.
        middle = (view.width / 2, view.height / 2)
        town = min(towns, key=lambda t: math.dist(view.pixel(t.latitude, t.longitude), middle))
        _label(draw, (16, 32), town.name, 26, INK)
        named.append(town.name)
    return named


def _draw_legend(canvas: Image.Image, rings: Sequence[Ring]) -> tuple[float, ...]:
    """The bands, narrowest first, each with its colour: top left."""
    from PIL import Image, ImageDraw

    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    face = font_px("Semibold", 22)
    ordered = sorted(rings, key=lambda r: r.radius_km)
    colours = {
        id(r): RING_COLOURS[i % len(RING_COLOURS)]
        for i, r in enumerate(sorted(rings, key=lambda r: -r.radius_km))
    }
    width = max(face.getlength(ring.label) for ring in ordered) + 62
    height = 16 + 34 * len(ordered)
    box = (12.0, 12.0, 12 + width, 12 + height)
    draw.rounded_rectangle(box, radius=10, fill=(255, 255, 255, 225))
    for index, ring in enumerate(ordered):
        y = 12 + 8 + 34 * index + 17
        draw.rounded_rectangle((26, y - 10, 46, y + 10), radius=4, fill=(*colours[id(ring)], 255))
        draw.text((58, y), ring.label, font=face, fill=INK, anchor="lm")
    canvas.alpha_composite(layer)
    return box


def _draw_scale(draw: ImageDraw.ImageDraw, view: Viewport, locale: str) -> None:
    latitude, _ = view.lat_lon(view.width / 2, view.height / 2)
    per_pixel = metres_per_pixel(latitude, view.zoom)
    metres = nice_distance(per_pixel * view.width / 4)
    length = metres / per_pixel
    left, base = 16, view.height - 16
    draw.rounded_rectangle(
        (left - 8, base - 34, left + length + 8, base + 8), radius=6, fill=(255, 255, 255, 215)
    )
    draw.line((left, base, left + length, base), fill=INK, width=3)
    for x in (left, left + length):
        draw.line((x, base - 8, x, base), fill=INK, width=3)
    text = format_distance(metres / 1000, locale)
    draw.text(
        (left + length / 2, base - 10), text, font=font_px("Semibold", 18), fill=INK, anchor="mb"
    )


def _draw_attribution(draw: ImageDraw.ImageDraw, view: Viewport, text: str) -> None:
    face = font_px("Regular", 17)
    width = face.getlength(text)
    right, bottom = view.width - 6, view.height - 6
    draw.rectangle((right - width - 12, bottom - 24, right, bottom), fill=(255, 255, 255, 215))
    draw.text((right - 6, bottom - 12), text, font=face, fill=(40, 40, 40), anchor="rm")


def render(
    spec: MapSpec,
    view: Viewport,
    tiles: Mapping[TileKey, bytes | None],
    texts: MapTexts,
    towns: Sequence[Town] = (),
) -> MapPicture:
    """The picture of `spec` seen through `view`, over whichever `tiles` are there."""
    from PIL import Image, ImageDraw

    canvas = Image.new("RGBA", (view.width, view.height), (*OFFLINE_BACKGROUND, 255))
    drawn = missing = 0
    for key, x, y in view.tiles():
        content = tiles.get(key)
        if content is None:
            missing += 1
            continue
        try:
            with Image.open(io.BytesIO(content)) as tile:
                tile_image = tile.convert("RGBA")
        except (OSError, ValueError):
            missing += 1
            continue
        if tile_image.size != (TILE_SIZE, TILE_SIZE):
            tile_image = tile_image.resize((TILE_SIZE, TILE_SIZE))
        # Tiles are opaque: a copy, which (unlike alpha_composite) may start off the canvas.
        canvas.paste(tile_image, (x, y))
        drawn += 1
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    if drawn == 0:
        # A faint grid, one cell per tile: the plain background still reads as a map.
        for _, x, y in view.tiles():
            draw.line((x, y, x + TILE_SIZE, y), fill=OFFLINE_GRID, width=1)
            draw.line((x, y, x, y + TILE_SIZE), fill=OFFLINE_GRID, width=1)
    pin_pixels = [view.pixel(pin.latitude, pin.longitude) for pin in spec.pins]
    keep_clear: list[tuple[float, ...]] = [
        (x - PIN_RADIUS - 4, y - PIN_RADIUS - 4, x + PIN_RADIUS + 4, y + PIN_RADIUS + 4)
        for x, y in pin_pixels
    ]
    if spec.here is not None:
        hx, hy = view.pixel(*spec.here)
        for index, ring in enumerate(sorted(spec.rings, key=lambda r: -r.radius_km)):
            radius = ring.radius_km * 1000 / metres_per_pixel(spec.here[0], view.zoom)
            colour = RING_COLOURS[index % len(RING_COLOURS)]
            draw.ellipse(
                (hx - radius, hy - radius, hx + radius, hy + radius),
                fill=(*colour, 38),
                outline=(*colour, 230),
                width=4,
            )
        keep_clear.append((hx - 24, hy - 24, hx + 24, hy + 24))
    canvas.alpha_composite(overlay)
    if spec.rings:
        keep_clear.append(_draw_legend(canvas, spec.rings))
    named: list[str] = []
    if missing:
        named = _draw_towns(canvas, view, towns, keep_clear)
    draw = ImageDraw.Draw(canvas)
    if spec.here is not None:
        hx, hy = view.pixel(*spec.here)
        _paste_centred(canvas, _here_sprite(), hx, hy)
        if not spec.rings:
            _label(draw, (hx + 22, hy), texts.here, 22, (13, 71, 161))
    # The furthest first, so that the nearest (and lowest numbers) end up on top.
    for pin, (px, py) in sorted(
        zip(spec.pins, pin_pixels, strict=True), key=lambda item: -item[0].number
    ):
        _paste_centred(canvas, _pin_sprite(pin.number), px, py)
    footer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    footer_draw = ImageDraw.Draw(footer)
    _draw_scale(footer_draw, view, texts.locale)
    _draw_attribution(footer_draw, view, texts.attribution if drawn else texts.offline)
    canvas.alpha_composite(footer)
    # Tiles are palette images already: 256 colours keep them and the overlays.
    picture = png(canvas.convert("RGB"), colors=256 if drawn else 96)
    return MapPicture(picture, view, drawn, missing, tuple(named))


class MapMaker:
    """Plans, fetches and draws maps; one per process (Dispatcher data `maps`)."""

    def __init__(
        self, tiles: TileClient, *, attribution: str = "", threads: int = DRAWING_THREADS
    ) -> None:
        self.tiles = tiles
        # What the tile server's licence asks maps to show; empty: OpenStreetMap's.
        self.attribution = attribution
        # Threads start on the first drawing; none at all in a process that draws no map.
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="map")

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock) -> MapMaker:
        return cls(
            TileClient(
                settings.map_tiles_url,
                settings.map_tiles_cache_dir,
                clock=clock,
                expiry=timedelta(days=settings.map_tiles_cache_days),
                rate=settings.map_tiles_rate,
                burst=settings.map_tiles_burst,
                contact=settings.map_contact,
            ),
            attribution=settings.map_tiles_attribution,
        )

    async def draw(self, spec: MapSpec, texts: MapTexts) -> MapPicture:
        view = plan(spec)
        keys = list(dict.fromkeys(key for key, _, _ in view.tiles()))
        tiles = await self.tiles.fetch(keys)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, _draw_with_towns, spec, view, tiles, texts)

    async def close(self) -> None:
        """At shutdown: the HTTP session closed, the drawing in hand finished."""
        await self.tiles.close()
        await asyncio.to_thread(self._pool.shutdown, True)


def _draw_with_towns(
    spec: MapSpec, view: Viewport, tiles: Mapping[TileKey, bytes | None], texts: MapTexts
) -> MapPicture:
    towns: list[Town] = []
    if any(content is None for content in tiles.values()) or not tiles:
        south, west, north, east = view.bounds()
        towns = towns_within(south, west, north, east, limit=TOWNS_SHOWN * 4)
    return render(spec, view, tiles, texts, towns)
