"""`greenhood db copy`: copy every table from one database to another (e.g. SQLite to
PostgreSQL when a community outgrows one file), keeping the data exactly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Table, func, insert, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import models
from models.database import create_engine, current_revision, upgrade


class CopyError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class TableCopy:
    table: str
    rows: int


def _tables() -> list[Table]:
    # Parents before children, so foreign keys hold at every insert.
    return list(models.Base.metadata.sorted_tables)


async def _count(connection: AsyncConnection, table: Table) -> int:
    return int((await connection.scalar(select(func.count()).select_from(table))) or 0)


async def _copy_table(
    source: AsyncConnection,
    target: AsyncConnection,
    table: Table,
    batch_size: int,
    progress: Callable[[str, int], None] | None,
) -> int:
    """Keyset pagination on the primary key: constant cost per batch, however big."""
    key = list(table.primary_key.columns)
    copied = 0
    last: tuple[object, ...] | None = None
    while True:
        query = select(table).order_by(*key).limit(batch_size)
        if last is not None:
            query = query.where(tuple_(*key) > tuple_(*last))
        rows = (await source.execute(query)).mappings().all()
        if not rows:
            return copied
        await target.execute(insert(table), [dict(row) for row in rows])
        copied += len(rows)
        last = tuple(rows[-1][column.name] for column in key)
        if progress is not None:
            progress(table.name, copied)


async def _reset_sequences(target: AsyncConnection) -> None:
    """PostgreSQL hands out ids from sequences, which a copy with explicit ids does not
    advance: move each past the largest id copied."""
    for table in _tables():
        column = table.autoincrement_column
        if column is None:
            continue
        sequence = await target.scalar(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": table.name, "column": column.name},
        )
        if sequence is None:
            continue
        largest = await target.scalar(select(func.max(column)))
        await target.execute(
            text("SELECT setval(:sequence, :value, false)"),
            {"sequence": sequence, "value": int(largest or 0) + 1},
        )


async def copy_database(
    source_url: str,
    target_url: str,
    *,
    batch_size: int = 1000,
    progress: Callable[[str, int], None] | None = None,
) -> list[TableCopy]:
    """Copy every table of the source (at the latest schema) into the target (migrated to
    it here, and empty), in one transaction; the row counts are checked before it
    commits. The source is only read."""
    source_engine: AsyncEngine = create_engine(source_url)
    target_engine: AsyncEngine = create_engine(target_url)
    try:
        target_revision = await _prepare_target(target_engine)
        if await current_revision(source_engine) != target_revision:
            raise CopyError(
                "the source database is not at the latest schema: run "
                "`greenhood db upgrade` on it first"
            )
        copies: list[TableCopy] = []
        async with source_engine.connect() as source, target_engine.begin() as target:
            for table in _tables():
                if await _count(target, table):
                    raise CopyError(f"the target database already has rows in {table.name}")
            for table in _tables():
                await _copy_table(source, target, table, batch_size, progress)
            if target_engine.dialect.name == "postgresql":
                await _reset_sequences(target)
            for table in _tables():
                expected, copied = await _count(source, table), await _count(target, table)
                if expected != copied:
                    raise CopyError(f"{table.name}: {copied} rows copied of {expected}")
                copies.append(TableCopy(table.name, copied))
        return copies
    finally:
        await source_engine.dispose()
        await target_engine.dispose()


async def _prepare_target(engine: AsyncEngine) -> str | None:
    await upgrade(engine)
    return await current_revision(engine)
