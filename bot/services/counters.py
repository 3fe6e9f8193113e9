"""Counters kept in tables: one atomic INSERT … ON CONFLICT DO UPDATE per bump, on SQLite
and PostgreSQL alike, so concurrent logs never lose an increment."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Insert, Result, Table, bindparam, case, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


# Bounded: the shapes are a few dozen, but bump_rows's number of rows is its caller's.
@functools.lru_cache(maxsize=256)
def _upsert(
    dialect: str,
    table: Table,
    keys: tuple[str, ...],
    increments: tuple[str, ...],
    rows: tuple[tuple[str, ...], ...],
    returning: tuple[str, ...],
) -> Insert:
    """The upsert of `rows` (each a row's column names; bound as "<column>_<row>"), adding
    each increment column to an existing row's, built once per shape: building it cost
    about 350 µs, more than running it, and a log runs two or more while it holds SQLite's
    one write lock."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = [
        {name: bindparam(f"{name}_{index}", type_=table.c[name].type) for name in row}
        for index, row in enumerate(rows)
    ]
    statement = insert(table).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: table.c[name] + statement.excluded[name] for name in increments},
    )
    if returning:
        return statement.returning(*(table.c[name] for name in returning))
    return statement


async def _execute_upsert(
    session: AsyncSession,
    model: type[DeclarativeBase],
    keys: Sequence[str],
    increments: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    returning: Sequence[str] = (),
) -> Result[Any]:
    table = model.__table__
    assert isinstance(table, Table)
    statement = _upsert(
        session.get_bind().dialect.name,
        table,
        tuple(keys),
        tuple(increments),
        tuple(tuple(row) for row in rows),
        tuple(returning),
    )
    parameters = {
        f"{name}_{index}": value for index, row in enumerate(rows) for name, value in row.items()
    }
    return await session.execute(statement, parameters)


async def bump(
    session: AsyncSession,
    model: type[DeclarativeBase],
    keys: Mapping[str, Any],
    increments: Mapping[str, int],
    *,
    extra: Mapping[str, Any] | None = None,
    returning: Sequence[str] = (),
) -> tuple[int, ...]:
    """Add `increments` to the row of `model` at primary key `keys`, creating it (with
    `extra` columns) if missing; return the new values of the `returning` columns."""
    row = {**keys, **(extra or {}), **increments}
    result = await _execute_upsert(session, model, list(keys), list(increments), [row], returning)
    if not returning:
        return ()
    return tuple(int(value) for value in result.one())


async def bump_rows(
    session: AsyncSession,
    model: type[DeclarativeBase],
    keys: Sequence[str],
    column: str,
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """Add each row's `column` (negative to take) to the row of `model` at its `keys`,
    creating the missing ones, all in one statement. Rows are locked in the order given:
    callers give them in one order everywhere, so that two transactions never wait for
    each other crosswise (a deadlock on PostgreSQL)."""
    if not rows:
        return
    await _execute_upsert(session, model, keys, [column], rows)


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


async def take(
    session: AsyncSession,
    model: type[DeclarativeBase],
    keys: Mapping[str, Any],
    decrements: Mapping[str, int],
    *,
    returning: Sequence[str] = (),
) -> tuple[int, ...] | None:
    """Subtract `decrements` from the row of `model` at primary key `keys` (never below
    zero, in one UPDATE); the new values of the `returning` columns, None without a row."""
    table = model.__table__
    assert isinstance(table, Table)
    statement = (
        update(table)
        .where(*(table.c[name] == value for name, value in keys.items()))
        .values(
            {
                name: case((table.c[name] >= amount, table.c[name] - amount), else_=0)
                for name, amount in decrements.items()
            }
        )
    )
    columns = [table.c[name] for name in returning] or [table.c[next(iter(keys))]]
    row = (await session.execute(statement.returning(*columns))).first()
    if row is None:
        return None
    return tuple(int(value) for value in row) if returning else ()


async def drop_if_zero(
    session: AsyncSession, model: type[DeclarativeBase], keys: Mapping[str, Any], column: str
) -> None:
    """Delete the row at `keys` once its `column` is back to zero, so a counter table holds
    exactly what a recount from the logs would (no row for no action)."""
    table = model.__table__
    assert isinstance(table, Table)
    await session.execute(
        delete(table).where(
            *(table.c[name] == value for name, value in keys.items()), table.c[column] == 0
        )
    )
