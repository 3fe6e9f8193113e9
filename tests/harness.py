"""Runs the real bot (the production wiring) against the test Bot API server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from aiogram import Bot, Dispatcher, Router
from aiogram.fsm.storage.base import BaseStorage
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import create_bot, create_dispatcher, poll, prepare_database
from bot.clock import Clock
from bot.settings import Settings
from models.database import create_sessionmaker
from tests.tg_server import FakeTelegramServer


@dataclass
class RunningBot:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    bot: Bot
    dispatcher: Dispatcher


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings,
    server: FakeTelegramServer,
    *,
    clock: Clock | None = None,
    extra_routers: Sequence[Router] = (),
    storage: BaseStorage | None = None,
) -> AsyncIterator[RunningBot]:
    settings = settings.model_copy(
        update={"telegram_api_base": server.base_url, "bot_token": SecretStr(server.token)}
    )
    engine = await prepare_database(settings, seed_demo=False)
    sessionmaker = create_sessionmaker(engine)
    bot = create_bot(settings)
    dispatcher = create_dispatcher(
        settings, sessionmaker, clock=clock, extra_routers=extra_routers, storage=storage
    )
    since = server.mark()
    task = asyncio.create_task(poll(bot, dispatcher, settings, handle_signals=False))
    try:
        # Ready once the bot asks for updates (start-up commands are registered by then).
        await server.wait_for("getUpdates", since=since, timeout=15)
        yield RunningBot(settings, engine, sessionmaker, bot, dispatcher)
    finally:
        with contextlib.suppress(RuntimeError):
            await dispatcher.stop_polling()
        await asyncio.wait_for(task, timeout=15)
        await dispatcher.storage.close()
        await engine.dispose()
