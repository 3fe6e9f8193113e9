"""Runs the real bot (the production wiring) against the test Bot API server."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from aiogram import Bot, Dispatcher, Router
from aiogram.fsm.storage.base import BaseStorage
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import create_bot, create_dispatcher, poll, prepare_database, serve_webhook
from bot.clock import Clock
from bot.runtime import Runtime
from bot.settings import Settings
from models.database import create_sessionmaker
from tests.tg_server import FakeTelegramServer


class SettledSessions:
    """The bot's sessionmaker for tests: a session opens once the bot has finished the
    updates it has in hand (their changes are committed after the replies go out, so a
    test reading the database right after a reply could otherwise be too early)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], runtime: Runtime) -> None:
        self._sessionmaker = sessionmaker
        self._runtime = runtime

    @contextlib.asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        await asyncio.wait_for(self._runtime.processor.idle(), timeout=15)
        async with self._sessionmaker() as session:
            yield session

    def __getattr__(self, name: str) -> object:
        return getattr(self._sessionmaker, name)


@dataclass
class RunningBot:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: SettledSessions
    bot: Bot
    dispatcher: Dispatcher
    runtime: Runtime


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings,
    server: FakeTelegramServer,
    *,
    clock: Clock | None = None,
    extra_routers: Sequence[Router] = (),
    storage: BaseStorage | None = None,
    webhook: bool = False,
) -> AsyncIterator[RunningBot]:
    """The bot polling `server`, or with `webhook=True` serving a webhook on a free port
    that `server` delivers to (the WEBHOOK_* settings are filled in)."""
    update: dict[str, object] = {
        "telegram_api_base": server.base_url,
        "bot_token": SecretStr(server.token),
    }
    if webhook:
        port = free_port()
        update |= {
            "webhook_url": f"http://127.0.0.1:{port}/telegram/webhook",
            "webhook_secret": SecretStr(settings.webhook_secret.get_secret_value())
            if settings.webhook_secret
            else SecretStr("test-webhook-secret"),
            "webhook_host": "127.0.0.1",
            "webhook_port": port,
        }
    settings = settings.model_copy(update=update)
    engine = await prepare_database(settings, seed_demo=False)
    sessionmaker = create_sessionmaker(engine)
    bot = create_bot(settings)
    dispatcher = create_dispatcher(
        settings, sessionmaker, clock=clock, extra_routers=extra_routers, storage=storage
    )
    since = server.mark()
    serve = serve_webhook if webhook else poll
    task = asyncio.create_task(serve(bot, dispatcher, settings, handle_signals=False))
    try:
        # Ready once the bot asks for updates or has set its webhook (start-up commands
        # are registered by then).
        await server.wait_for("setWebhook" if webhook else "getUpdates", since=since, timeout=15)
        runtime: Runtime = dispatcher["runtime"]
        await asyncio.wait_for(runtime.ready.wait(), timeout=15)
        yield RunningBot(
            settings, engine, SettledSessions(sessionmaker, runtime), bot, dispatcher, runtime
        )
    finally:
        if "runtime" in dispatcher.workflow_data:
            dispatcher["runtime"].stop()
        await asyncio.wait_for(task, timeout=30)
        await dispatcher.storage.close()
        await engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
