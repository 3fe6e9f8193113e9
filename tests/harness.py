"""Runs the real bot (the production wiring) against the test Bot API server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from aiogram import Bot, Dispatcher, Router
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import Update
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import create_bot, create_dispatcher, poll, prepare_database
from bot.clock import Clock
from bot.i18n import create_translator
from bot.settings import Settings
from bot.worker import Background, BackgroundTiming
from models.database import create_sessionmaker
from tests.tg_server import FakeTelegramServer


class UpdateTracker:
    """Knows which updates the dispatcher has finished with, database commit included.

    The bot commits an update's changes after its replies went out, so a test that reads
    the database right after a reply could be too early: `settled()` waits until every
    update the server has pending or has handed out went all the way through."""

    def __init__(self, server: FakeTelegramServer, dispatcher: Dispatcher) -> None:
        self._server = server
        self.completed: set[int] = set()
        feed_update = dispatcher.feed_update

        async def tracked_feed_update(bot: Bot, update: Update, **kwargs: object) -> object:
            try:
                return await feed_update(bot, update, **kwargs)
            finally:
                self.completed.add(update.update_id)

        # Instance attribute: aiogram's polling loop calls self.feed_update.
        dispatcher.feed_update = tracked_feed_update  # type: ignore[method-assign]

    def _unfinished(self) -> set[int]:
        pending = {int(update["update_id"]) for update in self._server.pending_updates}
        return (pending | self._server.handed_out_ids) - self.completed

    async def settled(self, timeout: float = 15.0) -> None:  # noqa: ASYNC109
        deadline = asyncio.get_running_loop().time() + timeout
        while unfinished := self._unfinished():
            if asyncio.get_running_loop().time() >= deadline:
                raise AssertionError(f"updates {sorted(unfinished)} not handled in {timeout}s")
            # Polls a condition (no time has to pass): the handlers run meanwhile.
            await asyncio.sleep(0.005)


class SettledSessions:
    """The bot's sessionmaker for tests: a session opens once the bot has finished the
    updates it has in hand."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], tracker: UpdateTracker
    ) -> None:
        self._sessionmaker = sessionmaker
        self._tracker = tracker

    @contextlib.asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        await self._tracker.settled()
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
    tracker: UpdateTracker
    background: Background | None = None

    async def settled(self) -> None:
        await self.tracker.settled()


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
    tracker = UpdateTracker(server, dispatcher)
    since = server.mark()
    task = asyncio.create_task(poll(bot, dispatcher, settings, handle_signals=False))
    try:
        # Ready once the bot asks for updates (start-up commands are registered by then).
        await server.wait_for("getUpdates", since=since, timeout=15)
        if worker is not None:
            await asyncio.wait_for(worker.leading.wait(), timeout=15)
        yield RunningBot(
            settings,
            engine,
            SettledSessions(sessionmaker, tracker),
            bot,
            dispatcher,
            tracker,
            worker,
        )
    finally:
        with contextlib.suppress(RuntimeError):
            await dispatcher.stop_polling()
        await asyncio.wait_for(task, timeout=15)
        if worker is not None:
            await worker.stop()
            await worker.bot.session.close()
        await dispatcher.storage.close()
        await engine.dispose()
