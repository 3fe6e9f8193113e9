"""`greenhood db copy` (SQLite to PostgreSQL, data kept) and the migration shortcut."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

import models
from bot.cli import app as cli
from bot.services import inbox
from bot.services.inbox import ReceivedUpdate
from models import InboxUpdate, Organiser, User
from models.copy import CopyError, copy_database
from models.database import create_engine, create_sessionmaker, downgrade, needs_upgrade, upgrade

NOW = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
PEOPLE = 2500  # more than one batch


async def _fill(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            session.add_all(
                User(
                    id=2**52 + i if i % 2 else 1000 + i,
                    first_name=f"Zoé «{i}» 🌱" if i % 3 else "<b>&amp;</b>",
                    username=None if i % 5 else f"user{i}",
                    telegram_language="fr-CA" if i % 7 else None,
                    language="en" if i % 4 else None,
                    is_active=bool(i % 11),
                    created_at=NOW + timedelta(minutes=i),
                    last_seen_at=NOW + timedelta(hours=i),
                )
                for i in range(PEOPLE)
            )
            session.add(Organiser(user_id=42, note="mairie", added_at=NOW))
            await inbox.store_updates(
                session,
                [ReceivedUpdate(i, 1000 + i, f'{{"update_id": {i}}}') for i in range(30)],
                NOW,
            )
            await inbox.mark_done(session, 3, NOW)
            await session.commit()
    finally:
        await engine.dispose()


async def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in await connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in models.Base.metadata.sorted_tables
            }
    finally:
        await engine.dispose()


async def test_copy_sqlite_to_postgres_keeps_every_row(tmp_path: Path, postgres_url: str) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path}/small.db"
    await _fill(source)
    progress: list[tuple[str, int]] = []
    copies = await copy_database(
        source, postgres_url, batch_size=1000, progress=lambda t, n: progress.append((t, n))
    )
    counts = {copy.table: copy.rows for copy in copies}
    assert counts == {"users": PEOPLE, "organisers": 1, "inbox_updates": 30}
    assert ("users", 2000) in progress
    assert await _rows(postgres_url) == await _rows(source)
    # Nothing is copied twice into a database that has data.
    with pytest.raises(CopyError, match="already has rows"):
        await copy_database(source, postgres_url)


def test_copy_between_sqlite_files_and_from_the_cli(tmp_path: Path) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path}/a.db"
    target = f"sqlite+aiosqlite:///{tmp_path}/b.db"
    asyncio.run(_fill(source))
    result = CliRunner().invoke(cli, ["db", "copy", "--from", source, "--to", target])
    assert result.exit_code == 0, result.output
    assert "counts match" in result.output
    assert asyncio.run(_rows(target)) == asyncio.run(_rows(source))
    again = CliRunner().invoke(cli, ["db", "copy", "--from", source, "--to", target])
    assert again.exit_code == 1
    assert "already has rows" in again.output


async def test_copy_refuses_a_source_behind_the_schema(tmp_path: Path) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path}/old.db"
    engine = create_engine(source)
    try:
        await upgrade(engine, "0001")
    finally:
        await engine.dispose()
    with pytest.raises(CopyError, match="db upgrade"):
        await copy_database(source, f"sqlite+aiosqlite:///{tmp_path}/new.db")


async def test_needs_upgrade_knows_the_head_without_alembic(tmp_path: Path) -> None:
    engine: AsyncEngine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/m.db")
    try:
        assert await needs_upgrade(engine)
        await upgrade(engine)
        assert not await needs_upgrade(engine)
        await downgrade(engine, "0001")
        assert await needs_upgrade(engine)
    finally:
        await engine.dispose()


async def test_inbox_rows_survive_the_copy_as_pending(tmp_path: Path) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path}/a.db"
    target = f"sqlite+aiosqlite:///{tmp_path}/c.db"
    await _fill(source)
    await copy_database(source, target)
    engine = create_engine(target)
    try:
        async with create_sessionmaker(engine)() as session:
            row = await session.get(InboxUpdate, 3)
            assert row is not None and row.processed_at == NOW
            assert await inbox.backlog(session) == 29
    finally:
        await engine.dispose()
