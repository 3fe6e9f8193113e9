"""Counters kept in tables: one atomic INSERT … ON CONFLICT DO UPDATE per bump, on SQLite
and PostgreSQL alike, so concurrent logs never lose an increment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


async def bump(
    session: AsyncSession,
    model: type[DeclarativeBase],
    keys: Mapping[str, Any],
    increments: Mapping[str, int],
    *,
    extra: Mapping[str, Any] | None = None,
    returning: str | None = None,
) -> int | None:
    """Add `increments` to the row of `model` at primary key `keys`, creating it (with
    `extra` columns) if missing; return the new value of column `returning`, if named."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    assert isinstance(table, Table)
    statement = insert(table).values({**keys, **(extra or {}), **increments})
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: table.c[name] + statement.excluded[name] for name in increments},
    )
    if returning is None:
        await session.execute(statement)
        return None
    value = (await session.execute(statement.returning(table.c[returning]))).scalar_one()
    return int(value)


async def insert_missing(
    session: AsyncSession, model: type[DeclarativeBase], rows: list[dict[str, Any]]
) -> None:
    """Insert `rows`, skipping those whose primary key is already there."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    assert isinstance(table, Table)
    await session.execute(insert(table).values(rows).on_conflict_do_nothing())
