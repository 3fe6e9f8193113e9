"""Map arithmetic, the tile client (cache, expiry, budget, back-off) and the drawing."""

from __future__ import annotations

import io
import math
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from bot.core.clock import ManualClock
from bot.services.geo.towns import towns_within
from bot.ui.pictures.maps import (
    PIN_FILL,
    MapMaker,
    MapSpec,
    MapTexts,
    Pin,
    Ring,
    plan,
    render,
)
from bot.ui.pictures.mercator import (
    MAX_LATITUDE,
    TileKey,
    Viewport,
    fit,
    metres_per_pixel,
    nice_distance,
    world_pixel,
    world_to_lat_lon,
)
from bot.ui.pictures.tiles import TileClient
from tests.support.tiles import TileServer, tile_png

TEXTS = MapTexts("You", "© OpenStreetMap contributors", "Map background unavailable", "en")


def test_web_mercator_reference_points() -> None:
    # The world's centre and corners at zoom 0 (a 256-pixel square).
    assert world_pixel(0, 0, 0) == (128.0, 128.0)
    x, y = world_pixel(MAX_LATITUDE, -180, 0)
    assert x == 0 and y == pytest.approx(0, abs=1e-9)
    # Bordeaux at zoom 15: tile 16331 / 11808 (OSM's numbering, worked out by hand:
    # y = (1 - ln(tan φ + sec φ) / π) / 2 * 2**15 = 11808.1).
    x, y = world_pixel(44.8378, -0.5792, 15)
    assert (int(x // 256), int(y // 256)) == (16331, 11808)
    lat, lon = world_to_lat_lon(x, y, 15)
    assert lat == pytest.approx(44.8378, abs=1e-9) and lon == pytest.approx(-0.5792, abs=1e-9)


def test_a_view_fits_its_points_and_lists_its_tiles() -> None:
    points = [(44.84, -0.58), (44.85, -0.57), (44.83, -0.60)]
    view = fit(points, 960, 720, margin=56, bottom=44)
    for lat, lon in points:
        x, y = view.pixel(lat, lon)
        assert 56 <= x <= 960 - 56 and 56 <= y <= 720 - 56 - 44
    closer = Viewport(view.zoom + 1, 0, 0, 960, 720)
    spans = [world_pixel(lat, lon, closer.zoom) for lat, lon in points]
    assert max(y for _, y in spans) - min(y for _, y in spans) > 720 - 2 * 56 - 44
    tiles = list(view.tiles())
    assert len(tiles) == len({key for key, _, _ in tiles}) <= 5 * 4
    for key, x, y in tiles:
        assert -256 < x < 960 and -256 < y < 720
        assert x + view.left == key.x * 256 and y + view.top == key.y * 256
    # One point alone: a street-level view.
    assert fit([(44.84, -0.58)], 960, 720, margin=56).zoom == 15


def test_scale_and_distances() -> None:
    assert nice_distance(230) == 200 and nice_distance(999) == 500 and nice_distance(1) == 1
    # At the equator, zoom 0: the Earth's circumference over 256 pixels.
    assert metres_per_pixel(0, 0) == pytest.approx(2 * math.pi * 6378137 / 256)


def test_towns_of_the_gazetteer_inside_a_box() -> None:
    towns = towns_within(44.80, -0.62, 44.88, -0.52, limit=3)
    assert [town.name for town in towns] == ["Bordeaux", "Talence", "Bègles"]
    assert towns_within(0, 0, 0.1, 0.1) == []


def picture(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


def test_render_draws_pins_over_tiles_and_without() -> None:
    spec = MapSpec(pins=(Pin(1, 44.84, -0.58), Pin(2, 44.85, -0.57)), here=(44.838, -0.575))
    view = plan(spec)
    tiles = {key: tile_png(key.x, key.y) for key, _, _ in view.tiles()}
    online = render(spec, view, tiles, TEXTS)
    assert online.tiles_missing == 0 and online.tiles_drawn == len(tiles)
    towns = towns_within(*view.bounds())
    offline = render(spec, view, {}, TEXTS, towns)
    # Bordeaux's point lies under pin 1: no dot there, but its name in a corner (the only
    # town of the view), so the map still says where it is.
    assert offline.tiles_drawn == 0 and [town.name for town in towns] == ["Bordeaux"]
    assert offline.towns == ("Bordeaux",)
    for drawn in (online, offline):
        image = picture(drawn.png)
        for pin in spec.pins:
            x, y = view.pixel(pin.latitude, pin.longitude)
            # Left of the number, inside the disc: the pin's colour.
            colour = image.getpixel((round(x) - 14, round(y)))
            assert isinstance(colour, tuple)
            assert all(abs(a - b) <= 12 for a, b in zip(colour, PIN_FILL, strict=False))


def test_a_neighbours_map_has_rings_and_no_pin() -> None:
    spec = MapSpec(here=(44.84, -0.58), rings=(Ring(1, "1 km: 4"), Ring(10, "10 km: 9")))
    view = plan(spec)
    drawn = render(spec, view, {}, TEXTS)
    image = picture(drawn.png)
    assert image.size == (960, 720)
    # The widest band almost fills the picture (the zoom that fits it).
    radius = 10_000 / metres_per_pixel(44.84, view.zoom)
    assert 0.9 * 360 <= radius <= 2 * 360


@pytest.fixture
async def tiles() -> object:
    async with TileServer() as server:
        yield server


async def test_tiles_are_cached_until_they_expire_and_stale_ones_stand_in(
    tiles: TileServer, tmp_path: Path
) -> None:
    clock = ManualClock()
    client = TileClient(
        tiles.url_template, tmp_path, clock=clock, expiry=timedelta(days=7), contact="me@x.org"
    )
    keys = [TileKey(10, 500, 300), TileKey(10, 501, 300)]
    try:
        first = await client.fetch(keys)
        assert all(first[key] == tile_png(key.x, key.y) for key in keys)
        assert len(tiles.requests) == 2
        assert await client.fetch(keys) == first
        assert len(tiles.requests) == 2 and client.stats.cache_hits == 2
        clock.advance(timedelta(days=8))
        tiles.available = False
        # Expired, the server down: asked once (then left alone), the old tiles drawn.
        assert await client.fetch(keys) == first
        assert 3 <= len(tiles.requests) <= 4 and client.stats.stale_used == 2
        tiles.available = True
        clock.advance(timedelta(minutes=2))  # past the back-off
        assert await client.fetch(keys) == first
        assert client.stats.downloads == 4
    finally:
        await client.close()


async def test_the_budget_leaves_tiles_out_rather_than_ask_too_much(
    tiles: TileServer, tmp_path: Path
) -> None:
    clock = ManualClock()
    client = TileClient(tiles.url_template, tmp_path, clock=clock, rate=1, burst=3)
    keys = [TileKey(12, x, 1500) for x in range(2000, 2005)]
    try:
        got = await client.fetch(keys)
        assert sum(content is not None for content in got.values()) == 3
        assert len(tiles.requests) == 3 and client.stats.over_budget == 2
        clock.advance(2.0)  # two more tokens
        got = await client.fetch(keys)
        assert all(content is not None for content in got.values())
        assert len(tiles.requests) == 5
    finally:
        await client.close()


async def test_no_server_means_no_tiles_and_no_request(tmp_path: Path) -> None:
    client = TileClient("", tmp_path, clock=ManualClock())
    assert not client.enabled
    assert await client.fetch([TileKey(1, 0, 0)]) == {TileKey(1, 0, 0): None}
    maker = MapMaker(client)
    drawn = await maker.draw(MapSpec(pins=(Pin(1, 48.85, 2.35),)), TEXTS)
    assert drawn.tiles_drawn == 0 and "Paris" in drawn.towns
    await maker.close()
