"""Engine and session factories, and the Alembic entry points used by the CLI and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Tables that live in our database but are not ours to migrate (APScheduler's job store
# creates its own): Alembic's models == migrations comparison leaves them alone.
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Tables no model describes: the makers' SQLite R*Tree, created by hand in its migration
# (a virtual table and its shadow tables maker_rtree_node, ...), and APScheduler's job
# store, which APScheduler creates and owns.
UNMANAGED_TABLE_PREFIXES = ("maker_rtree", "apscheduler_")


def is_unmanaged_table(name: str | None) -> bool:
    return name is not None and name.startswith(UNMANAGED_TABLE_PREFIXES)


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's filter: the unmanaged tables are neither models nor drift."""
    return not (type_ == "table" and is_unmanaged_table(name))


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while one writer writes; the busy timeout makes a second
    # writer wait instead of failing at once with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        return engine
    engine = create_async_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)
    event.listen(engine.sync_engine, "before_cursor_execute", _without_nul, retval=True)
    return engine


def _without_nul(
    conn: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> tuple[str, Any]:
    """PostgreSQL text cannot hold U+0000 and refuses the whole statement; people can type
    it (in a name, a title, a search), so it is dropped from every text parameter."""
    return statement, _strip_nul(parameters)


def _strip_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, tuple):
        return tuple(_strip_nul(item) for item in value)
    if isinstance(value, list):
        return [_strip_nul(item) for item in value]
    if isinstance(value, dict):
        return {key: _strip_nul(item) for key, item in value.items()}
    return value


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: services return ORM rows that handlers read after commit.
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    def run(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def is_empty(engine: AsyncEngine) -> bool:
    """True when no migration has ever run on this database."""

    def check(connection: Connection) -> bool:
        return not inspect(connection).has_table("alembic_version")

    async with engine.connect() as connection:
        return await connection.run_sync(check)


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)
