"""A raster tile server on 127.0.0.1 for tests and benchmarks: `/{z}/{x}/{y}.png` answers
a 256 x 256 PNG of one flat colour that tells which tile it is (`tile_colour`), so a
test can find, in a map picture, where each tile was pasted, and so where the world
pixels are. Records every request (and its User-Agent); `available = False` makes it
answer 503."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Self

from aiohttp import web
from PIL import Image


def tile_colour(x: int, y: int) -> tuple[int, int, int]:
    """Neighbouring tiles differ in red (by x) or green (by y); blue stays high, so no
    tile looks like a pin (orange-red), the place (blue with little red) or white."""
    return 60 + (x % 6) * 30, 60 + (y % 6) * 30, 170 + ((x + y) % 3) * 20


def tile_of_colour(colour: tuple[int, int, int], near_x: int, near_y: int) -> tuple[int, int]:
    """The tile (x, y) of a colour, the one closest to (near_x, near_y) among those that
    share it (colours repeat every 6 tiles)."""
    red, green, _ = colour
    rx, gy = round((red - 60) / 30) % 6, round((green - 60) / 30) % 6
    x = near_x + ((rx - near_x) % 6 if (rx - near_x) % 6 <= 3 else (rx - near_x) % 6 - 6)
    y = near_y + ((gy - near_y) % 6 if (gy - near_y) % 6 <= 3 else (gy - near_y) % 6 - 6)
    return x, y


@dataclass(frozen=True, slots=True)
class TileRequest:
    zoom: int
    x: int
    y: int
    user_agent: str


def tile_png(x: int, y: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), tile_colour(x, y)).save(buffer, format="PNG")
    return buffer.getvalue()


class TileServer:
    def __init__(self) -> None:
        self.requests: list[TileRequest] = []
        self.available = True
        self._runner: web.AppRunner | None = None
        self._port = 0

    @property
    def url_template(self) -> str:
        return f"http://127.0.0.1:{self._port}/{{z}}/{{x}}/{{y}}.png"

    async def _tile(self, request: web.Request) -> web.Response:
        zoom, x = int(request.match_info["z"]), int(request.match_info["x"])
        y = int(request.match_info["y"])
        self.requests.append(TileRequest(zoom, x, y, request.headers.get("User-Agent", "")))
        if not self.available:
            return web.Response(status=503, text="tile server down")
        return web.Response(body=tile_png(x, y), content_type="image/png")

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get("/{z:\\d+}/{x:\\d+}/{y:\\d+}.png", self._tile)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
