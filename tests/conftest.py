"""Shared fixtures: isolated settings, migrated databases, the test Bot API server and
the real bot polling it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.settings import Settings
from models.database import create_engine, create_sessionmaker, upgrade

POSTGRES_ENV = "GREENHOOD_TEST_POSTGRES_URL"
REDIS_ENV = "GREENHOOD_TEST_REDIS_URL"
REQUIRE_ENV = "GREENHOOD_REQUIRE_SERVICES"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A developer's .env or shell must not leak into tests."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'greenhood.db'}",
        "bot_token": "123456:TEST-TOKEN",
        "polling_timeout": 1,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


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
    from sqlalchemy.engine import make_url

    url = make_url(base)
    admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"greenhood_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(admin_dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"PostgreSQL at {base} unreachable: {error}", pytrace=False)
        pytest.skip(f"PostgreSQL at {base} unreachable: {error}")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


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
