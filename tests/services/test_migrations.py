"""Every migration runs up and down, and the models match the migrated schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import models
from models.database import (
    alembic_config,
    create_engine,
    current_revision,
    downgrade,
    include_object,
    is_empty,
    is_unmanaged_table,
    upgrade,
)


def _revisions_oldest_first() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": include_object}
    )
    return list(compare_metadata(context, models.Base.metadata))


def _tables(connection: Connection) -> set[str]:
    names = set(inspect(connection).get_table_names()) - {"alembic_version"}
    return {name for name in names if not is_unmanaged_table(name)}


async def _walk_every_migration(engine: AsyncEngine) -> None:
    revisions = _revisions_oldest_first()
    assert revisions, "no migrations found"
    assert await is_empty(engine)
    # Step up one revision at a time, then down one at a time, then up again.
    for revision in revisions:
        await upgrade(engine, revision)
        assert await current_revision(engine) == revision
    async with engine.connect() as connection:
        assert await connection.run_sync(_schema_diff) == []
        tables = await connection.run_sync(_tables)
    assert tables == set(models.Base.metadata.tables)
    for revision in reversed(revisions[:-1]):
        await downgrade(engine, revision)
        assert await current_revision(engine) == revision
    await downgrade(engine, "base")
    async with engine.connect() as connection:
        assert await connection.run_sync(_tables) == set()
    await upgrade(engine)
    assert await current_revision(engine) == revisions[-1]


async def test_every_migration_up_and_down_on_sqlite(tmp_path: object) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/m.db")
    try:
        await _walk_every_migration(engine)
    finally:
        await engine.dispose()


async def test_every_migration_up_and_down_on_postgres(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        await _walk_every_migration(engine)
    finally:
        await engine.dispose()


async def test_sqlite_pragmas(tmp_path: object) -> None:
    from sqlalchemy import text

    # Its own SQLite file: the `engine` fixture is PostgreSQL on the postgres backend.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/p.db")
    try:
        async with engine.connect() as connection:
            journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
            timeout = (await connection.execute(text("PRAGMA busy_timeout"))).scalar()
            foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar()
    finally:
        await engine.dispose()
    assert journal == "wal"
    assert timeout is not None and int(timeout) >= 5000
    assert foreign_keys == 1
