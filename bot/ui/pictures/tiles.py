"""Raster map tiles from a tile server (MAP_TILES_URL, OpenStreetMap's standard tiles by
default), used the way its usage policy asks
(https://operations.osmfoundation.org/policies/tiles/):

- a User-Agent naming the application, the bot and a contact (MAP_CONTACT);
- a disk cache (MAP_TILES_CACHE_DIR): a tile is asked for again only once it is older
  than MAP_TILES_CACHE_DAYS (7 by default, the policy's minimum); an expired tile is
  still drawn when it cannot be refreshed;
- a global budget of requests (a token bucket: MAP_TILES_BURST at once, then
  MAP_TILES_RATE a second) and two connections at most: past the budget a tile is left
  out of the picture rather than asked for;
- a server that fails is left alone for a minute (every map is drawn without it
  meanwhile, at once).

The budget is per process: with several replicas, divide the rate among them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from aiohttp import ClientError, ClientSession, ClientTimeout

from bot.core.clock import Clock
from bot.services.throttling import MemoryThrottle
from bot.ui.pictures.mercator import TileKey

logger = logging.getLogger(__name__)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
# One tile should never take longer; the whole batch has its own deadline.
REQUEST_TIMEOUT_S = 5.0
BATCH_TIMEOUT_S = 8.0
# Connections open to the tile server at once (the policy's "no more than 2").
CONNECTIONS = 2
# After a failed request the server is not asked again for this long.
BACK_OFF_S = 60.0
# The budget's one key: the throttle is per "user", and the budget is global.
_BUDGET_KEY = 0


@dataclass(slots=True)
class TileStats:
    """Counted since the client was made (benchmarks, tests, logs)."""

    cache_hits: int = 0
    downloads: int = 0
    over_budget: int = 0
    failures: int = 0
    stale_used: int = 0


def _package_version() -> str:
    try:
        return version("greenhood")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


class TileClient:
    """Tiles from `url_template` ("…/{z}/{x}/{y}.png"); an empty template means no
    server (every tile is None: maps are drawn without a background)."""

    def __init__(
        self,
        url_template: str,
        cache_dir: Path,
        *,
        clock: Clock,
        expiry: timedelta = timedelta(days=7),
        rate: float = 1.0,
        burst: int = 100,
        contact: str = "",
    ) -> None:
        self._template = url_template.strip()
        self._clock = clock
        self._expiry = expiry
        self._budget = MemoryThrottle(clock, rate, burst, max_users=1)
        # Tiles of different servers never mix: each template has its own folder.
        digest = hashlib.sha256(self._template.encode()).hexdigest()[:12]
        self._dir = cache_dir / digest
        self._contact = contact.strip()
        self._bot_name: str | None = None
        self._session: ClientSession | None = None
        self._connections = asyncio.Semaphore(CONNECTIONS)
        self._down_until = float("-inf")
        self.stats = TileStats()

    @property
    def enabled(self) -> bool:
        return bool(self._template)

    def set_bot_name(self, username: str | None) -> None:
        """The bot's @username, for the User-Agent (known once the bot has asked getMe)."""
        self._bot_name = username or None

    @property
    def user_agent(self) -> str:
        about = ["Telegram bot"]
        if self._bot_name:
            about = [f"Telegram bot @{self._bot_name}"]
        if self._contact:
            about.append(f"contact: {self._contact}")
        return f"Greenhood/{_package_version()} ({'; '.join(about)})"

    def url(self, key: TileKey) -> str:
        return self._template.format(z=key.zoom, x=key.x, y=key.y)

    def path(self, key: TileKey) -> Path:
        return self._dir / str(key.zoom) / str(key.x) / f"{key.y}.tile"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ------------------------------------------------------------------ fetching

    async def fetch(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes | None]:
        found: dict[TileKey, bytes | None] = dict.fromkeys(keys)
        if not self.enabled or not keys:
            return found
        cached = await asyncio.to_thread(self._read_cache, list(found))
        missing: list[TileKey] = []
        stale: dict[TileKey, bytes] = {}
        for key, (content, fresh) in cached.items():
            if content is not None and fresh:
                found[key] = content
                self.stats.cache_hits += 1
            else:
                missing.append(key)
                if content is not None:
                    stale[key] = content
        if missing:
            downloads = [self._download(key) for key in missing]
            # What is not in by the deadline is drawn without: the person is waiting.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(BATCH_TIMEOUT_S):
                    for key, content in zip(missing, await asyncio.gather(*downloads), strict=True):
                        found[key] = content
            for key in missing:
                if found[key] is None and key in stale:
                    found[key] = stale[key]
                    self.stats.stale_used += 1
        return found

    def _read_cache(self, keys: list[TileKey]) -> dict[TileKey, tuple[bytes | None, bool]]:
        """(content or None, still fresh) per tile, from the disk."""
        now = self._clock.now().timestamp()
        limit = self._expiry.total_seconds()
        result: dict[TileKey, tuple[bytes | None, bool]] = {}
        for key in keys:
            path = self.path(key)
            try:
                modified = path.stat().st_mtime
                result[key] = (path.read_bytes(), now - modified < limit)
            except OSError:
                result[key] = (None, False)
        return result

    async def _download(self, key: TileKey) -> bytes | None:
        if self._clock.monotonic() < self._down_until:
            return None
        verdict = await self._budget.hit(_BUDGET_KEY)
        if not verdict.allowed:
            self.stats.over_budget += 1
            if verdict.notify:
                logger.warning("map tiles: request budget spent, drawing without some tiles")
            return None
        async with self._connections:
            if self._clock.monotonic() < self._down_until:
                return None
            content = await self._get(key)
        if content is None:
            self.stats.failures += 1
            self._down_until = self._clock.monotonic() + BACK_OFF_S
            return None
        self.stats.downloads += 1
        await asyncio.to_thread(self._write_cache, key, content)
        return content

    async def _get(self, key: TileKey) -> bytes | None:
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=REQUEST_TIMEOUT_S))
        url = self.url(key)
        try:
            async with self._session.get(url, headers={"User-Agent": self.user_agent}) as reply:
                if reply.status != 200:
                    logger.warning("map tiles: %s answered %s", url, reply.status)
                    return None
                content = await reply.read()
        except (ClientError, TimeoutError, OSError) as error:
            logger.warning("map tiles: %s failed: %r", url, error)
            return None
        if not content.startswith((PNG_SIGNATURE, JPEG_SIGNATURE)):
            logger.warning("map tiles: %s is not a PNG or JPEG image", url)
            return None
        return content

    def _write_cache(self, key: TileKey, content: bytes) -> None:
        """Written aside, then renamed: a reader never sees half a tile."""
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
            with os.fdopen(handle, "wb") as file:
                file.write(content)
            os.replace(temporary, path)
            now = self._clock.now().timestamp()
            os.utime(path, (now, now))
        except OSError:
            logger.warning("map tiles: cannot write the cache at %s", path, exc_info=True)
