"""Demo data, so a newcomer's first `make run` shows a living bot.

Each feature contributes a loader; every loader is idempotent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import SystemClock
from bot.settings import PROJECT_ROOT, Settings
from models.database import create_engine, create_sessionmaker, upgrade

# A loader adds its rows (skipping those already there) and returns a one-line report.
DemoLoader = Callable[[AsyncSession, Settings], Awaitable[str]]


DEMO_MAKERS = PROJECT_ROOT / "data" / "demo_makers.csv"


async def load_demo_makers(session: AsyncSession, settings: Settings) -> str:
    """The 200 fictional makers of data/demo_makers.csv, through the import service."""
    from bot.services.maker_import import read_makers_file, upsert_makers

    summary = await upsert_makers(session, read_makers_file(DEMO_MAKERS), SystemClock().now())
    return f"demo makers: {summary.line()}"


def demo_loaders() -> list[DemoLoader]:
    from bot.services.demo_actions import load_actions_demo

    return [load_demo_makers, load_actions_demo]


async def load_demo_into(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> list[str]:
    reports: list[str] = []
    async with sessionmaker() as session:
        for loader in demo_loaders():
            reports.append(await loader(session, settings))
        await session.commit()
    return reports or ["no demo data to load yet"]


async def load_demo(settings: Settings) -> list[str]:
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        return await load_demo_into(create_sessionmaker(engine), settings)
    finally:
        await engine.dispose()
