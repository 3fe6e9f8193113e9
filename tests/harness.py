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
from bot.i18n import create_translator
from bot.settings import Settings
from bot.worker import Background, BackgroundTiming
from models.database import create_sessionmaker
from tests.tg_server import FakeTelegramServer


@dataclass
class RunningBot:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    bot: Bot
    dispatcher: Dispatcher
    background: Background | None = None


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings,
    server: FakeTelegramServer,
    *,
    clock: Clock | None = None,
    extra_routers: Sequence[Router] = (),
    storage: BaseStorage | None = None,
    background: bool = False,
    background_timing: BackgroundTiming | None = None,
) -> AsyncIterator[RunningBot]:
    """`background`: also run the scheduler, the sender and the progress reporter
    (bot/worker.py), as `greenhood run` does."""
    settings = settings.model_copy(
        update={"telegram_api_base": server.base_url, "bot_token": SecretStr(server.token)}
    )
    engine = await prepare_database(settings, seed_demo=False)
    sessionmaker = create_sessionmaker(engine)
    bot = create_bot(settings)
    worker: Background | None = None
    if background:
        translator = create_translator(settings.locales_dir, settings.default_language)
        worker = Background(
            settings,
            sessionmaker,
            create_bot(settings),
            translator,
            clock,
            run_jobs=True,
            timing=background_timing,
        )
        await worker.start()
    dispatcher = create_dispatcher(
        settings,
        sessionmaker,
        clock=clock,
        extra_routers=extra_routers,
        storage=storage,
        scheduler=worker.scheduler if worker is not None else None,
    )
    since = server.mark()
    task = asyncio.create_task(poll(bot, dispatcher, settings, handle_signals=False))
    try:
        # Ready once the bot asks for updates (start-up commands are registered by then).
        await server.wait_for("getUpdates", since=since, timeout=15)
        if worker is not None:
            await asyncio.wait_for(worker.leading.wait(), timeout=15)
        yield RunningBot(settings, engine, sessionmaker, bot, dispatcher, worker)
    finally:
        with contextlib.suppress(RuntimeError):
            await dispatcher.stop_polling()
        await asyncio.wait_for(task, timeout=15)
        if worker is not None:
            await worker.stop()
            await worker.bot.session.close()
        await dispatcher.storage.close()
        await engine.dispose()
