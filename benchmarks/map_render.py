"""How long a map picture takes and what memory it costs (bot/ui/pictures/maps.py).

Maps of 5 and 20 pins around Bordeaux, each drawn ROUNDS times through `MapMaker.draw`
(plan, tiles, drawing in the worker thread, PNG), two ways:
- online: tiles from a local tile server (tests/support/tiles.py), already in the disk
  cache (warmed by one drawing first), as a busy town's maps mostly are;
- offline: no tile server, the plain background and the gazetteer's towns.

Reports p50 / p95 per case and the growth of the process's resident memory over the whole
run (the gazetteer's towns, the font, the drawing threads and their buffers)."""

from __future__ import annotations

import asyncio
import gc
import random
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks.common import percentile, report
from bot.core.clock import SystemClock
from bot.ui.pictures.maps import MapMaker, MapSpec, MapTexts, Pin
from bot.ui.pictures.tiles import TileClient
from tests.support.tiles import TileServer

ROUNDS = 40
CENTRE = (44.8378, -0.5792)
TEXTS = MapTexts("Vous", "© les contributeurs d'OpenStreetMap", "Fond de carte indisponible", "fr")


def spec(pins: int, rng: random.Random) -> MapSpec:
    """`pins` places within about 2 km of the centre, numbered like a list."""
    points = tuple(
        Pin(
            number,
            CENTRE[0] + rng.uniform(-0.018, 0.018),
            CENTRE[1] + rng.uniform(-0.025, 0.025),
        )
        for number in range(1, pins + 1)
    )
    return MapSpec(pins=points, here=CENTRE)


async def measure(maker: MapMaker, map_spec: MapSpec) -> tuple[list[float], int]:
    await maker.draw(map_spec, TEXTS)  # warm: tiles cached, towns loaded, threads up
    times: list[float] = []
    size = 0
    for _ in range(ROUNDS):
        start = time.perf_counter()
        drawn = await maker.draw(map_spec, TEXTS)
        times.append(time.perf_counter() - start)
        size = len(drawn.png)
    return times, size


async def run() -> None:
    process = psutil.Process()
    gc.collect()
    rss_before = process.memory_info().rss
    rng = random.Random(14)
    specs = {pins: spec(pins, rng) for pins in (5, 20)}
    rows: list[tuple[str, str]] = []
    figures: dict[str, object] = {"rounds": ROUNDS}
    with tempfile.TemporaryDirectory() as cache:
        async with TileServer() as tiles:
            for mode, template in (("online", tiles.url_template), ("offline", "")):
                client = TileClient(template, Path(cache), clock=SystemClock(), burst=10_000)
                maker = MapMaker(client)
                try:
                    for pins, map_spec in specs.items():
                        times, size = await measure(maker, map_spec)
                        p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
                        name = f"{mode}_{pins}_pins"
                        rows.append(
                            (f"{name} p50 / p95", f"{p50 * 1000:.0f} / {p95 * 1000:.0f} ms")
                        )
                        rows.append((f"{name} PNG", f"{size / 1024:.0f} KB"))
                        figures[f"{name}_p50_ms"] = round(p50 * 1000, 1)
                        figures[f"{name}_p95_ms"] = round(p95 * 1000, 1)
                        figures[f"{name}_png_kb"] = round(size / 1024, 1)
                finally:
                    await maker.close()
            figures["tile_requests"] = len(tiles.requests)
    gc.collect()
    rss_delta = (process.memory_info().rss - rss_before) / 2**20
    rows.append(("tile requests (all runs)", str(figures["tile_requests"])))
    rows.append(("RSS growth over the run", f"{rss_delta:.1f} MB"))
    figures["rss_delta_mb"] = round(rss_delta, 1)
    report("Map pictures (960 x 720)", rows, figures)


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
