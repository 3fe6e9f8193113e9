"""Map pictures end to end: /makers answers with a map whose numbered pins sit exactly where
Web Mercator puts the listed makers over the tiles of a local tile server; the same map
asked again fetches no tile; without a tile server the map is drawn all the same."""

from __future__ import annotations

import io
import math
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.services import makers
from bot.services.geo import geohash, privacy
from bot.standin import SEND_METHODS, BotApiStandIn, RecordedCall, TgUser
from bot.ui.pictures.maps import HERE_FILL, PIN_FILL, PIN_RADIUS
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import tr
from tests.support.tiles import TileServer, tile_colour

from .test_makers import expected_lines, items, with_demo_makers
from .test_neighbours import ANA, HOME, gather, view_of

ALICE = TgUser(id=2101, first_name="Alice", language_code="fr")
BORDEAUX = (44.8378, -0.5792)
# What the bot keeps of a shared location (bot/services/geo/privacy.py): the map and the
# list are drawn from that point.
AS_SHARED = (round(BORDEAUX[0], privacy.DECIMALS), round(BORDEAUX[1], privacy.DECIMALS))
CONTACT = "maps@greenhood.example"

Pixel = tuple[int, int, int]


def world(latitude: float, longitude: float, zoom: int) -> tuple[float, float]:
    """Web Mercator in pixels, written here again (the test's own arithmetic)."""
    size = 256 * 2**zoom
    sin = math.sin(math.radians(latitude))
    x = (longitude + 180) / 360 * size
    y = (0.5 - math.log((1 + sin) / (1 - sin)) / (4 * math.pi)) * size
    return x, y


def close(a: Pixel, b: tuple[int, ...], tolerance: int) -> bool:
    return all(abs(p - q) <= tolerance for p, q in zip(a, b, strict=False))


def blobs(
    image: Image.Image, colour: tuple[int, int, int], tolerance: int = 24
) -> list[tuple[float, float]]:
    """Centres of the bounding boxes of the connected areas of `colour`."""
    pixels = image.load()
    assert pixels is not None
    width, height = image.size
    matching = {
        (x, y)
        for y in range(height)
        for x in range(width)
        if close(pixels[x, y], colour, tolerance)  # type: ignore[arg-type]
    }
    centres: list[tuple[float, float]] = []
    while matching:
        start = matching.pop()
        area, todo = [start], [start]
        while todo:
            x, y = todo.pop()
            for neighbour in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                if neighbour in matching:
                    matching.remove(neighbour)
                    area.append(neighbour)
                    todo.append(neighbour)
        if len(area) < 30:  # antialiasing crumbs
            continue
        xs = [x for x, _ in area]
        ys = [y for _, y in area]
        centres.append(((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2))
    return centres


def uncovered(expected: list[tuple[float, float]]) -> list[int]:
    """The indexes of the pins no other pin hides any part of: pin N is drawn over the
    pins after it, so those near an earlier one are partly hidden (their visible part's
    box is off-centre)."""
    return [
        n
        for n, point in enumerate(expected)
        if all(math.dist(point, other) > 2 * PIN_RADIUS + 8 for other in expected[:n])
    ]


def matches(
    pins: list[tuple[float, float]], expected: list[tuple[float, float]], shift: tuple[float, float]
) -> bool:
    """Every uncovered pin is drawn within 1.5 pixels of where it is expected (+ shift)."""
    return all(
        any(
            math.dist(pin, (expected[n][0] + shift[0], expected[n][1] + shift[1])) <= 1.5
            for pin in pins
        )
        for n in uncovered(expected)
    )


def photo_of(tg: BotApiStandIn, call: RecordedCall) -> Image.Image:
    assert call.method in ("sendPhoto", "editMessageMedia"), call
    content = tg.file_content(call.result["photo"][-1]["file_id"])
    assert content is not None
    image = Image.open(io.BytesIO(content)).convert("RGB")
    assert image.size == (960, 720)
    return image


def origin(image: Image.Image, first_x: int, first_y: int) -> tuple[int, int]:
    """The world pixel of the picture's top-left corner, read off the tiles: where the
    colour of the first tile column (row) gives way to the next one's."""
    pixels = image.load()
    assert pixels is not None
    first = tile_colour(first_x, first_y)
    assert close(pixels[2, 2], first, 6), (pixels[2, 2], first)  # type: ignore[arg-type]
    column = next(
        x
        for x in range(image.width)
        if close(pixels[x, 2], tile_colour(first_x + 1, first_y), 6)  # type: ignore[arg-type]
    )
    row = next(
        y
        for y in range(image.height)
        if close(pixels[2, y], tile_colour(first_x, first_y + 1), 6)  # type: ignore[arg-type]
    )
    return (first_x + 1) * 256 - column, (first_y + 1) * 256 - row


async def listed_points(app: RunningBot, lines: list[str]) -> list[tuple[float, float]]:
    """The coordinates of the makers a list shows, in its order (from the database)."""
    async with app.sessionmaker() as session:
        page = await makers.nearest_makers(session, *AS_SHARED, limit=len(lines))
    names = [nearby.maker.name for nearby in page.makers]
    assert all(
        line.split(". ", 1)[1].startswith(name) for line, name in zip(lines, names, strict=True)
    )
    return [(nearby.maker.latitude, nearby.maker.longitude) for nearby in page.makers]


@pytest.fixture
async def tiles() -> AsyncIterator[TileServer]:
    async with TileServer() as server:
        yield server


def settings_for(tmp_path: Path, tiles: TileServer | None) -> Settings:
    return make_settings(
        tmp_path,
        throttle_burst=1000,
        map_tiles_url=tiles.url_template if tiles else "",
        map_contact=CONTACT,
        map_tiles_cache_dir=tmp_path / "tiles",
    )


@pytest.fixture
async def app(
    tg: BotApiStandIn, tmp_path: Path, clock: ManualClock, tiles: TileServer
) -> AsyncIterator[RunningBot]:
    async with running_bot(settings_for(tmp_path, tiles), tg, clock=clock) as running:
        yield await with_demo_makers(running)


async def makers_near_bordeaux(tg: BotApiStandIn) -> RecordedCall:
    await tg.reply_to(ALICE, "/makers")
    since = tg.mark()
    tg.push_location(ALICE, *BORDEAUX)
    _, listing = await tg.wait_for(SEND_METHODS, chat_id=ALICE.id, count=2, since=since)
    return listing


async def test_the_pins_sit_where_the_listed_makers_are(
    tg: BotApiStandIn, app: RunningBot, tiles: TileServer
) -> None:
    listing = await makers_near_bordeaux(tg)
    lines = items(listing)
    assert lines == expected_lines(*AS_SHARED, "fr")[:5]
    image = photo_of(tg, listing)

    zooms = {request.zoom for request in tiles.requests}
    assert len(zooms) == 1
    zoom = zooms.pop()
    first_x = min(request.x for request in tiles.requests)
    first_y = min(request.y for request in tiles.requests)
    left, top = origin(image, first_x, first_y)

    points = await listed_points(app, lines)
    pins = blobs(image, PIN_FILL)
    assert len(pins) == len(points) == 5
    expected = [world(lat, lon, zoom) for lat, lon in points]
    assert len(uncovered(expected)) >= 2
    assert matches(pins, expected, (-left, -top)), (expected, (left, top), pins)
    # The person's place is marked too.
    x, y = world(*AS_SHARED, zoom)
    [here] = blobs(image, HERE_FILL, tolerance=30)
    assert math.dist(here, (x - left, y - top)) <= 1.5

    # Asked politely: the bot, a contact.
    agents = {request.user_agent for request in tiles.requests}
    assert len(agents) == 1
    agent = agents.pop()
    assert agent.startswith("Greenhood/")
    assert f"@{tg.bot_username}" in agent and CONTACT in agent


async def test_the_same_map_again_fetches_no_tile_and_more_has_its_own_pins(
    tg: BotApiStandIn, app: RunningBot, tiles: TileServer
) -> None:
    first = await makers_near_bordeaux(tg)
    fetched = len(tiles.requests)
    assert fetched > 0
    (again,) = await tg.reply_to(ALICE, "/makers")  # the place is still fresh: same list
    assert items(again) == items(first)
    assert len(tiles.requests) == fetched  # all from the disk cache
    assert tg.file_content(again.result["photo"][-1]["file_id"]) == tg.file_content(
        first.result["photo"][-1]["file_id"]
    )
    # The next page: pins 6-10, on a map of their own.
    (more,) = await tg.click(ALICE, again, tr.t("makers.list.more", "fr"))
    assert items(more) == expected_lines(*AS_SHARED, "fr")[5:10]
    assert len(blobs(photo_of(tg, more), PIN_FILL)) == 5


async def test_without_a_tile_server_the_map_is_drawn_all_the_same(
    tg: BotApiStandIn, tmp_path: Path, clock: ManualClock
) -> None:
    async with running_bot(settings_for(tmp_path, None), tg, clock=clock) as running:
        await with_demo_makers(running)
        listing = await makers_near_bordeaux(tg)
        image = photo_of(tg, listing)
        points = await listed_points(running, items(listing))
    pins = blobs(image, PIN_FILL)
    assert len(pins) == 5
    # The pins keep their places relative to one another at the zoom the map is drawn at.
    fitting = set()
    for zoom in range(3, 18):
        expected = [world(lat, lon, zoom) for lat, lon in points]
        for anchor in pins:  # which one is pin 1 (never hidden)
            shift = (anchor[0] - expected[0][0], anchor[1] - expected[0][1])
            if len(uncovered(expected)) >= 2 and matches(pins, expected, shift):
                fitting.add(zoom)
    assert len(fitting) == 1, fitting
    # Nothing of a tile in it: the plain background.
    pixels = image.load()
    assert pixels is not None
    assert not close(pixels[2, 2], (60, 60, 170), 40)  # type: ignore[arg-type]


async def test_a_tile_server_that_fails_is_left_alone_and_the_map_still_comes(
    tg: BotApiStandIn, app: RunningBot, tiles: TileServer
) -> None:
    tiles.available = False
    listing = await makers_near_bordeaux(tg)
    assert len(blobs(photo_of(tg, listing), PIN_FILL)) == 5
    asked = len(tiles.requests)
    assert 1 <= asked <= 2  # the first failure stops the others (two connections at most)
    (again,) = await tg.reply_to(ALICE, "/makers")
    assert again.method == "sendPhoto"
    assert len(tiles.requests) == asked  # backed off


async def test_the_neighbours_map_rings_the_cell_never_the_point(
    tg: BotApiStandIn, app: RunningBot, tiles: TileServer, clock: ManualClock
) -> None:
    await gather(tg, app, clock)
    since = tg.mark()
    await view_of(tg, ANA)
    [view] = [c for c in tg.calls[since:] if c.method == "sendPhoto" and c.chat_id == ANA.id]
    image = photo_of(tg, view)
    assert not blobs(image, PIN_FILL)  # nobody's place is pinned
    requested = [r for r in tiles.requests if r.zoom == max(q.zoom for q in tiles.requests)]
    zoom = requested[0].zoom
    left, top = origin(image, min(r.x for r in requested), min(r.y for r in requested))
    [here] = blobs(image, HERE_FILL, tolerance=30)
    cell_x, cell_y = world(*geohash.centre(geohash.encode(*HOME)), zoom)
    point_x, point_y = world(*HOME, zoom)
    # The viewer's own mark sits on their ~1 km cell's centre, not on the point they shared.
    assert math.dist(here, (cell_x - left, cell_y - top)) <= 1.5
    assert math.dist(here, (point_x - left, point_y - top)) > 3


async def test_a_category_tapped_twice_redraws_once(tg: BotApiStandIn, app: RunningBot) -> None:
    listing = await makers_near_bordeaux(tg)
    jewellery = tr.t("makers.category.jewellery", "fr")
    (edited,) = await tg.click(ALICE, listing, jewellery)
    assert edited.method == "editMessageMedia"
    assert len(blobs(photo_of(tg, edited), PIN_FILL)) == len(items(edited))
    since = tg.mark()
    await tg.click(ALICE, listing, jewellery, count=0)
    await tg.wait_idle()
    assert not [c for c in tg.calls[since:] if c.method == "editMessageMedia"]
