"""Engine and session factories, and the Alembic entry points used by the CLI and tests."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry, Pool
from sqlalchemy.util import await_

if TYPE_CHECKING:
    from alembic.config import Config

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


# Any fixed number: replicas starting together migrate one after the other.
MIGRATION_LOCK_ID = 0x6772_6E68


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
    # Deleted rows are overwritten, not just unlinked: what /forget and the retention
    # purge remove must not stay readable in the file's free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


SQLITE_POOL_SIZE = 16

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


class _SQLiteWriteGate:
    """One writer at a time, queued in asyncio rather than in SQLite.

    SQLite lets one connection write at a time; the others get SQLITE_BUSY and its busy
    handler makes them sleep and retry (1, 2, 5, 10 … 100 ms), unfairly: with dozens of
    concurrent updates, writers sleep far longer than the lock is held and some starve
    until "database is locked". Here a connection waits for an asyncio lock before its
    first write of a transaction (woken the moment it is free, in order) and gives it
    back when it returns to the pool, i.e. once it has committed or rolled back."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    def before_execute(
        self,
        connection: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        info = connection.info
        if info.get("write_gate") or not _is_write(statement):
            return
        try:
            await_(asyncio.wait_for(self._lock.acquire(), SQLITE_BUSY_TIMEOUT_MS / 1000))
        except TimeoutError as error:
            raise OperationalError(
                statement, parameters, sqlite3.OperationalError("database is locked")
            ) from error
        info["write_gate"] = True

    def checkin(self, dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        if record.info.pop("write_gate", False):
            self._lock.release()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            # A session gives its connection back before any call to Telegram
            # (bot.serving.middlewares.inbox), so a connection is held only while
            # SQLite works: with one writer at a time and the GIL, 16 serve the 64
            # concurrent updates as fast as 64 did (throughput basic, polling: 598 and
            # 548 updates/s with 64, 591 and 567 with 16), and each open connection
            # costs its thread, page cache and prepared statements: 184 -> 169.5 MiB in
            # the memory benchmark. No overflow: connections opened and closed under
            # load leave their memory fragmented in the allocator.
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=0,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        gate = _SQLiteWriteGate()
        event.listen(engine.sync_engine, "before_cursor_execute", gate.before_execute)
        event.listen(engine.sync_engine.pool, "checkin", gate.checkin)
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


def _is_write(statement: str) -> bool:
    return statement.lstrip()[:7].upper().startswith(_WRITES)


class WriteAfterReplyError(RuntimeError):
    """An update wrote to the database after its changes were committed and a reply went
    out. What it wrote would land in a later transaction, which a crash can lose while the
    update is already marked handled (a reservation kept, its notice gone). Every change of
    an update, the notices it queues included, is made before its first reply."""


SEALED = "greenhood_sealed"


def seal(session: AsyncSession) -> None:
    """From now on, any write through this session raises WriteAfterReplyError."""
    session.sync_session.info[SEALED] = True


def is_sealed(session: AsyncSession) -> bool:
    return bool(session.sync_session.info.get(SEALED))


@contextlib.contextmanager
def unsealed(session: AsyncSession) -> Iterator[None]:
    """The pipeline's own bookkeeping after the seal (recording a reply, marking it sent)."""
    info = session.sync_session.info
    was = info.pop(SEALED, False)
    try:
        yield
    finally:
        if was:
            info[SEALED] = True


@contextlib.contextmanager
def derived(session: AsyncSession) -> Iterator[None]:
    """Writes of derived data a read may leave behind (a finished week archived, expired
    positions forgotten): idempotent, redone by the next read if a crash loses them, so
    allowed after a reply where other writes are not (see seal)."""
    with unsealed(session):
        yield


@event.listens_for(Engine, "before_cursor_execute")
def _note_write(
    connection: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> None:
    # Every statement that reaches the database, whatever sent it (ORM flush, Core,
    # text()), for has_writes.
    if _is_write(statement):
        session_info = connection.info.get("session_info")
        if session_info is not None and session_info.get(SEALED):
            raise WriteAfterReplyError(statement.split(None, 3)[:3])
        connection.info["wrote"] = True


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _transaction_ended(connection: Connection) -> None:
    connection.info.pop("wrote", None)


@event.listens_for(Pool, "checkin")
def _returned(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    # Returned mid-transaction, the pool rolls back without telling the Connection.
    record.info.pop("wrote", None)
    # Whichever session used it last is done with it.
    record.info.pop("session_info", None)


@event.listens_for(Session, "after_begin")
def _session_connected(session: Session, transaction: Any, connection: Connection) -> None:
    session.info["connection"] = connection
    connection.info["session_info"] = session.info


@event.listens_for(Session, "after_transaction_end")
def _session_released(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        connection = session.info.pop("connection", None)
        if connection is not None and not connection.closed:
            connection.info.pop("session_info", None)


async def has_writes(session: AsyncSession) -> bool:
    """Whether the session's transaction wrote, or is about to write, anything. Asked
    without taking a connection from the pool: a transaction that never took one (most
    updates: their rows come from elsewhere, bot.serving.prefetch) has written nothing."""
    sync = session.sync_session
    if sync.new or sync.deleted or any(sync.is_modified(obj) for obj in sync.dirty):
        return True
    connection: Connection | None = sync.info.get("connection")
    return connection is not None and bool(connection.info.get("wrote"))


def holds_connection(session: AsyncSession) -> bool:
    """Whether the session's transaction has taken a connection from the pool."""
    return session.sync_session.info.get("connection") is not None


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: services return ORM rows that handlers read after commit.
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(connection: Connection | None = None) -> Config:
    # Alembic (~12 MB) is imported only when migrating: a serving process whose schema is
    # already up to date never loads it (see needs_upgrade).
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _serialise_migrations(connection: Connection) -> None:
    """On PostgreSQL, hold an advisory lock until the migration's transaction ends, so
    that several replicas starting at once do not migrate the same schema together."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")


def _script_heads() -> set[str] | None:
    """The latest revision id(s) of models/migrations/versions, read without Alembic; None
    when a file does not declare them the usual way (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision = _REVISION.search(source)
        parent = _DOWN_REVISION.search(source)
        if revision is None or parent is None:
            return None
        revisions.add(revision.group(1))
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", parent.group(1)))
    return revisions - parents


_REVISION = re.compile(r"^revision(?:: str)? = ['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision(?:: [^=]+)? = (.+)$", re.MULTILINE)


async def needs_upgrade(engine: AsyncEngine) -> bool:
    """False when the database is already at the latest revision (checked without
    importing Alembic)."""
    heads = _script_heads()
    if not heads:
        return True

    def read(connection: Connection) -> set[str] | None:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return {
            row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))
        }

    async with engine.connect() as connection:
        current = await connection.run_sync(read)
    return current != heads


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    from alembic import command

    def run(connection: Connection) -> None:
        _serialise_migrations(connection)
        command.upgrade(alembic_config(connection), revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    from alembic import command

    def run(connection: Connection) -> None:
        _serialise_migrations(connection)
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
