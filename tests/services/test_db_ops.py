"""`greenhood db copy` (SQLite to PostgreSQL, data kept) and the migration shortcut."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

import models
from bot.app.cli import app as cli
from bot.app.demo import load_demo_into
from bot.core.settings import PROJECT_ROOT, Settings
from bot.services import inbox
from bot.services.inbox import ReceivedUpdate
from bot.services.makers import exhaustive_nearest_ids, nearest_ids
from models import (
    ActionLog,
    Broadcast,
    Event,
    EventCheckin,
    EventRsvp,
    InboxUpdate,
    Maker,
    MakerFavourite,
    NotificationPrefs,
    Offer,
    OfferAlert,
    OfferReport,
    OfferTemplate,
    OfferTemplateRun,
    Organiser,
    OutboxBlob,
    OutboxMessage,
    PlaceLog,
    RelayFlag,
    RelayMessage,
    Reservation,
    User,
    WorkerLease,
)
from models.copy import CopyError, copy_database
from models.database import create_engine, create_sessionmaker, downgrade, needs_upgrade, upgrade

NOW = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
PEOPLE = 2500  # more than one batch


async def _fill(url: str) -> None:
    """Every table of the schema gets rows: many people (more than one batch), the demo
    data (makers, eco-actions, contests, neighbours, offers) and a row or two for each
    table the demo leaves empty."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        await load_demo_into(sessionmaker, Settings(_env_file=None, database_url=url))
        async with sessionmaker() as session:
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
            await session.flush()
            session.add(Organiser(user_id=42, note="mairie", added_at=NOW))
            await inbox.store_updates(
                session,
                [ReceivedUpdate(i, 1000 + i, f'{{"update_id": {i}}}') for i in range(30)],
                NOW,
            )
            await inbox.mark_done(session, 3, NOW)
            maker_id = await session.scalar(select(Maker.id).order_by(Maker.id).limit(1))
            offer_id = await session.scalar(select(Offer.id).order_by(Offer.id).limit(1))
            assert maker_id is not None and offer_id is not None
            broadcast = Broadcast(
                organiser_id=42,
                locale="fr",
                audience="all",
                text="Réunion <i>jeudi</i>",
                status="done",
                send_at=NOW,
                recipients=1,
                created_at=NOW,
            )
            blob = OutboxBlob(data=b"\x89PNG\r\n\x00\xff", created_at=NOW)
            session.add_all([broadcast, blob])
            await session.flush()
            session.add_all(
                [
                    OutboxMessage(
                        chat_id=1001,
                        kind="broadcast",
                        text="Réunion <i>jeudi</i>",
                        photo_blob_id=blob.id,
                        reply_markup={"inline_keyboard": [[{"text": "→", "url": "https://a.fr"}]]},
                        idempotency_key="broadcast:1:1001",
                        status="sent",
                        not_before=NOW,
                        next_attempt_at=NOW,
                        broadcast_id=broadcast.id,
                        created_at=NOW,
                        sent_at=NOW,
                    ),
                    WorkerLease(
                        name="worker",
                        holder="abc",
                        host="host",
                        pid=1,
                        acquired_at=NOW,
                        expires_at=NOW,
                    ),
                    MakerFavourite(user_id=1000, maker_id=maker_id, created_at=NOW),
                    NotificationPrefs(
                        user_id=1000,
                        quiet_start=22,
                        quiet_end=7,
                        daily_cap=3,
                        opted_out=["offers.alert"],
                        snoozed_until=NOW,
                    ),
                    OfferAlert(
                        user_id=1000, latitude=44.84, longitude=-0.58, radius_km=2, created_at=NOW
                    ),
                    Reservation(offer_id=offer_id, user_id=1002, reserved_at=NOW),
                    OfferReport(offer_id=offer_id, reporter_id=1004, reason="spam", created_at=NOW),
                ]
            )
            event = Event(
                title="Repair café",
                starts_at=NOW + timedelta(days=1),
                ends_at=NOW + timedelta(days=1, hours=2),
                timezone="Europe/Paris",
                latitude=44.84,
                longitude=-0.58,
                capacity=10,
                seats_taken=1,
                organiser_id=1000,
                status="published",
                created_at=NOW,
                checkin_code=123456789012,
            )
            session.add(event)
            await session.flush()
            session.add_all(
                [
                    EventRsvp(event_id=event.id, user_id=1002, status="going", responded_at=NOW),
                    EventCheckin(event_id=event.id, user_id=1002, checked_in_at=NOW, method="qr"),
                ]
            )
            # The relay, recurring offers and action places.
            reservation_id = await session.scalar(
                select(Reservation.id).where(Reservation.user_id == 1002)
            )
            log = await session.scalar(select(ActionLog).order_by(ActionLog.id).limit(1))
            assert reservation_id is not None and log is not None
            template = OfferTemplate(
                poster_id=1000,
                title="Pain du soir",
                category="bakery",
                quantity=5,
                latitude=44.84,
                longitude=-0.58,
                pickup_note="Porte de derrière",
                start_time=time(19),
                end_time=time(20),
                timezone="Europe/Paris",
                days=0b0011111,
                created_at=NOW,
            )
            session.add(template)
            await session.flush()
            session.add_all(
                [
                    RelayMessage(
                        reservation_id=reservation_id,
                        sender_id=1002,
                        recipient_id=1000,
                        text="Je sonne à l'interphone ?",
                        created_at=NOW,
                    ),
                    RelayFlag(
                        reservation_id=reservation_id,
                        actor_id=1000,
                        kind="report",
                        status="open",
                        created_at=NOW,
                    ),
                    OfferTemplateRun(
                        template_id=template.id,
                        local_date=NOW.date(),
                        outcome="published",
                        offer_id=offer_id,
                        created_at=NOW,
                    ),
                    PlaceLog(
                        log_id=log.id,
                        user_id=log.user_id,
                        maker_id=maker_id,
                        action_slug=log.action_slug,
                        local_date=NOW.date(),
                    ),
                ]
            )
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


async def _check_copy_in_use(url: str) -> None:
    """The copy works as a database, not only as rows: the makers' nearest search (the
    SQLite R*Tree is filled by its triggers as makers are inserted; PostgreSQL's cell
    index is a column) and new rows getting fresh ids (sequences moved past the copy)."""
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            nearest = await nearest_ids(session, 44.84, -0.58, 10)
            assert len(nearest) == 10
            assert nearest == await exhaustive_nearest_ids(session, 44.84, -0.58, 10)
            largest = await session.scalar(select(func.max(Broadcast.id)))
            fresh = Broadcast(
                organiser_id=42,
                locale="fr",
                audience="all",
                text="après la copie",
                status="done",
                send_at=NOW,
                created_at=NOW,
            )
            session.add(fresh)
            await session.flush()
            assert largest is not None and fresh.id > largest
            await session.rollback()
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
    # Every table of the schema, none empty (a table added later is covered, or this fails).
    assert set(counts) == set(models.Base.metadata.tables)
    assert [table for table, rows in counts.items() if not rows] == []
    assert counts["users"] >= PEOPLE and counts["inbox_updates"] == 30
    assert ("users", 2000) in progress
    assert await _rows(postgres_url) == await _rows(source)
    await _check_copy_in_use(postgres_url)
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
    asyncio.run(_check_copy_in_use(target))
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


def test_cli_keeps_alembic_quiet_unless_verbose(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'quiet.db'}",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    command = [sys.executable, "-m", "bot.app.cli"]
    quiet = subprocess.run(
        [*command, "db", "upgrade"], env=env, capture_output=True, text=True, check=True
    )
    assert "Running upgrade" not in quiet.stderr and "Context impl" not in quiet.stderr
    assert "revision" in quiet.stdout
    (tmp_path / "quiet.db").unlink()
    verbose = subprocess.run(
        [*command, "--verbose", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Running upgrade" in verbose.stderr
