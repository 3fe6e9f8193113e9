"""Shared fixtures: isolated settings, migrated databases, the test Bot API server and
the real bot polling it.

The suite runs on SQLite; with GREENHOOD_TEST_BACKEND=postgres it runs again on
PostgreSQL + Redis: every `make_settings` (hence the `settings` and `engine` fixtures)
then gets a fresh PostgreSQL database and its own Redis key prefix, both removed after
the test."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.standin import BotApiStandIn
from models.database import create_engine, create_sessionmaker, upgrade

POSTGRES_ENV = "GREENHOOD_TEST_POSTGRES_URL"
REDIS_ENV = "GREENHOOD_TEST_REDIS_URL"
REQUIRE_ENV = "GREENHOOD_REQUIRE_SERVICES"
BACKEND_ENV = "GREENHOOD_TEST_BACKEND"
BACKENDS = ("sqlite", "postgres")

T = TypeVar("T")


def current_backend() -> str:
    backend = os.environ.get(BACKEND_ENV, "sqlite")
    if backend not in BACKENDS:
        raise pytest.UsageError(f"{BACKEND_ENV} must be one of {BACKENDS}, not {backend!r}")
    return backend


def _run_aside(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop (the
    backend's database is made on demand by the sync `make_settings`)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _admin_dsn(base: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)


async def _create_database(base: str) -> tuple[str, str]:
    """A new empty database on the server of `base`: (its name, its SQLAlchemy URL)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    name = f"greenhood_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_admin_dsn(base), timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name, make_url(base).set(database=name).render_as_string(hide_password=False)


async def _drop_databases(base: str, names: list[str]) -> None:
    import asyncpg

    admin = await asyncpg.connect(_admin_dsn(base), timeout=5)
    try:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _delete_redis_keys(url: str, prefixes: list[str]) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        for prefix in prefixes:
            keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
            if keys:
                await client.delete(*keys)
    finally:
        await client.aclose()


class _DatabaseFactory:
    """Makes the PostgreSQL backend's per-test databases one ahead and drops the used ones
    in the background: CREATE DATABASE and DROP DATABASE cost about a second each, and
    a test then waits only for its migrations (the database must stay never-migrated:
    tests see the first-run demo data and walk the migrations from an empty one)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        self._spare: list[concurrent.futures.Future[tuple[str, str]]] = []
        self._drops: list[concurrent.futures.Future[None]] = []

    def _ahead(self) -> None:
        self._spare.append(self._pool.submit(asyncio.run, _create_database(self.base)))

    def take(self) -> tuple[str, str]:
        if not self._spare:
            self._ahead()
        ready = self._spare.pop(0)
        self._ahead()
        return ready.result()

    def drop(self, names: list[str]) -> None:
        self._drops = [drop for drop in self._drops if not drop.done()]
        for drop in self._drops:
            drop.result()  # surface a failure, and keep the backlog short
        self._drops.append(self._pool.submit(asyncio.run, _drop_databases(self.base, names)))

    def close(self) -> None:
        spare = [future.result()[0] for future in self._spare]
        self._spare = []
        if spare:
            self.drop(spare)
        for drop in self._drops:
            drop.result()
        self._pool.shutdown(wait=True)


_factory: _DatabaseFactory | None = None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _factory
    if _factory is not None:
        factory, _factory = _factory, None
        factory.close()


class _BackendResources:
    """What `make_settings` created for the current test on the PostgreSQL backend."""

    def __init__(self) -> None:
        self.postgres = os.environ.get(POSTGRES_ENV, "")
        self.redis = os.environ.get(REDIS_ENV, "")
        if not self.postgres or not self.redis:
            pytest.fail(
                f"{BACKEND_ENV}=postgres needs {POSTGRES_ENV} and {REDIS_ENV}", pytrace=False
            )
        self.databases: list[str] = []
        self.prefixes: list[str] = []

    def database_url(self) -> str:
        global _factory
        if _factory is None:
            _factory = _DatabaseFactory(self.postgres)
        name, url = _factory.take()
        self.databases.append(name)
        return url

    def redis_prefix(self) -> str:
        prefix = f"greenhood-test-{uuid.uuid4().hex[:12]}"
        self.prefixes.append(prefix)
        return prefix

    def clean_up(self) -> None:
        if self.databases and _factory is not None:
            _factory.drop(self.databases)
        if self.prefixes:
            _run_aside(_delete_redis_keys(self.redis, self.prefixes))


_resources: _BackendResources | None = None


@pytest.fixture(autouse=True)
def _backend_resources() -> Iterator[None]:
    global _resources
    if current_backend() == "sqlite":
        yield
        return
    _resources = _BackendResources()
    try:
        yield
    finally:
        resources, _resources = _resources, None
        resources.clean_up()


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A developer's .env or shell must not leak into tests."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    # Nothing leaves the machine: no map tiles from OpenStreetMap's servers (the default)
    # for any Settings a test builds; map tests start a local tile server.
    monkeypatch.setenv("MAP_TILES_URL", "")
    monkeypatch.chdir(tmp_path)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Test settings on the test backend: a SQLite file in `tmp_path`, or (backend
    postgres) a fresh PostgreSQL database and a Redis prefix of its own, unless
    `overrides` names them."""
    values: dict[str, Any] = {
        "bot_token": "123456:TEST-TOKEN",
        "polling_timeout": 1,
        # No tile server unless a test starts one (tests/support/tiles.py): maps are drawn
        # without a background, and nothing leaves the machine.
        "map_tiles_url": "",
    }
    if _resources is not None:
        if "database_url" not in overrides:
            values["database_url"] = _resources.database_url()
        if "redis_url" not in overrides:
            values["redis_url"] = _resources.redis
            values["redis_prefix"] = _resources.redis_prefix()
    else:
        values["database_url"] = f"sqlite+aiosqlite:///{tmp_path / 'greenhood.db'}"
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
async def tg() -> AsyncIterator[BotApiStandIn]:
    """The Bot API stand-in (bot/standin), for the bot to talk to."""
    async with BotApiStandIn() as server:
        yield server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


def _service_unavailable(env: str, what: str) -> None:
    message = f"{what} tests need {env} (set by .ci/run; e.g. a local server)"
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{message}, but it is not set although {REQUIRE_ENV} is", pytrace=False)
    pytest.skip(message)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        _service_unavailable(POSTGRES_ENV, "PostgreSQL")
        return
    import asyncpg

    try:
        name, url = await _create_database(base)
    except (OSError, asyncpg.PostgresError) as error:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"PostgreSQL at {base} unreachable: {error}", pytrace=False)
        pytest.skip(f"PostgreSQL at {base} unreachable: {error}")
    try:
        yield url
    finally:
        await _drop_databases(base, [name])


@pytest.fixture
def redis_prefix() -> str:
    return f"greenhood-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis_url(redis_prefix: str) -> AsyncIterator[str]:
    """A reachable Redis; the keys under this test's prefix are deleted afterwards."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        _service_unavailable(REDIS_ENV, "Redis")
        return
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(url)
    try:
        await client.ping()
    except (OSError, RedisError) as error:
        await client.aclose()
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"Redis at {url} unreachable: {error}", pytrace=False)
        pytest.skip(f"Redis at {url} unreachable: {error}")
    try:
        yield url
    finally:
        keys = [key async for key in client.scan_iter(match=f"{redis_prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
def anyio_backend() -> Iterator[str]:
    yield "asyncio"
