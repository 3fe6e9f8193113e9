"""The week roll-over's memo (bot/services/challenges.py `_ROLLED`): a week is skipped
only once its roll-over row is seen committed, and only for the database that has it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.core.weeks import week_of
from bot.services import challenges
from models import WeekRollover
from models.database import create_engine, create_sessionmaker, upgrade

PARIS = ZoneInfo("Europe/Paris")
THURSDAY = datetime(2026, 1, 8, 9, 0, tzinfo=UTC)


async def _rollovers(engine: AsyncEngine) -> int:
    async with create_sessionmaker(engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(WeekRollover)) or 0)


async def _roll(engine: AsyncEngine, now: datetime, *, commit: bool) -> None:
    session: AsyncSession
    async with create_sessionmaker(engine)() as session:
        await challenges.roll_over(session, now, PARIS)
        # Seen again in the same transaction: not settled, so not remembered.
        await challenges.roll_over(session, now, PARIS)
        if commit:
            await session.commit()


async def test_a_rolled_back_week_and_another_database_still_roll_over(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await _roll(engine, THURSDAY, commit=False)
    assert await _rollovers(engine) == 0
    await _roll(engine, THURSDAY, commit=True)
    assert await _rollovers(engine) == 1
    # An hour later the row is settled: remembered for this database only.
    await _roll(engine, THURSDAY + timedelta(hours=1), commit=True)
    assert week_of(THURSDAY, PARIS) in challenges._ROLLED[engine.sync_engine]
    other = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'other.db'}")
    try:
        await upgrade(other)
        await _roll(other, THURSDAY + timedelta(hours=1), commit=True)
        assert await _rollovers(other) == 1
    finally:
        await other.dispose()
