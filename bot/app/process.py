"""A Greenhood process, built one way for `run`, `worker`, the console and the tests.

`open_process` migrates the database, builds the long-lived objects (engine, translator,
bot, dispatcher, scheduler, sender) and starts the background side; the caller then
serves updates with `poll()` or `webhook()` (a serving process), or just waits (the
worker). Leaving the context stops the background and closes every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from aiogram import Bot, Dispatcher, Router
from aiogram.fsm.storage.base import BaseStorage
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app.wiring import create_bot, create_dispatcher, prepare_database
from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.serving.runtime import Runtime, check_webhook_settings
from bot.ui.i18n import Translator, create_translator
from bot.worker.background import Background, BackgroundTiming
from models.database import create_sessionmaker

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Worker:
    """What every process has: the database, the translator and the background side
    (scheduler, sender), running while the process is open."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    translator: Translator
    background: Background

    @property
    def clock(self) -> Clock:
        return self.background.clock


@dataclass(slots=True)
class Process(Worker):
    """A serving process: a worker plus the bot and the dispatcher its updates go to."""

    bot: Bot
    dispatcher: Dispatcher

    def runtime(self) -> Runtime:
        """The serving loop (polling or webhook) around the inbox. Kept as Dispatcher data
        `runtime`, so that whoever started it can stop it: `dispatcher["runtime"].stop()`."""
        runtime = Runtime(
            self.settings, self.bot, self.dispatcher, self.sessionmaker, clock=self.clock
        )
        self.dispatcher["runtime"] = runtime
        return runtime

    async def poll(self, *, handle_signals: bool = True) -> None:
        """Long polling until stopped (SIGTERM/SIGINT, or `dispatcher["runtime"].stop()`):
        each batch is committed to the inbox before the next getUpdates confirms it;
        updates run as tasks, bounded by MAX_CONCURRENT_UPDATES; stopping finishes those
        in hand."""
        await self.runtime().run_polling(handle_signals=handle_signals)

    async def webhook(self, *, handle_signals: bool = True) -> None:
        """The webhook server (WEBHOOK_*), until stopped like `poll`: each update is
        committed to the inbox before it is answered 200; GET /healthz for load
        balancers."""
        await self.runtime().run_webhook(handle_signals=handle_signals)


@contextlib.asynccontextmanager
async def open_worker(
    settings: Settings,
    *,
    clock: Clock | None = None,
    run_jobs: bool = True,
    seed_demo: bool = False,
    background_timing: BackgroundTiming | None = None,
) -> AsyncIterator[Worker]:
    """With `run_jobs` the process competes for the worker lease (the scheduler and the
    sender run in whichever process holds it); without, its scheduler only stores the
    jobs its handlers schedule (`run --no-scheduler` replicas)."""
    engine = await prepare_database(settings, seed_demo=seed_demo)
    translator = create_translator(settings.locales_dir, settings.default_language)
    sessionmaker = create_sessionmaker(engine)
    # Its own HTTP session: serving closes the bot's when it stops, while the sender
    # still finishes the messages in flight.
    sender_bot = create_bot(settings)
    try:
        background = Background(
            settings,
            sessionmaker,
            sender_bot,
            translator,
            clock,
            run_jobs=run_jobs,
            timing=background_timing,
        )
        async with background:
            yield Worker(settings, engine, sessionmaker, translator, background)
    finally:
        await sender_bot.session.close()
        await engine.dispose()


@contextlib.asynccontextmanager
async def open_process(
    settings: Settings,
    *,
    clock: Clock | None = None,
    run_jobs: bool = True,
    seed_demo: bool = False,
    storage: BaseStorage | None = None,
    extra_routers: Sequence[Router] = (),
    background_timing: BackgroundTiming | None = None,
) -> AsyncIterator[Process]:
    """A serving process (`open_worker` for `run_jobs`); `extra_routers` (tests) are
    included before the catch-all fallback."""
    async with open_worker(
        settings,
        clock=clock,
        run_jobs=run_jobs,
        seed_demo=seed_demo,
        background_timing=background_timing,
    ) as worker:
        bot = create_bot(settings)
        dispatcher = create_dispatcher(
            settings,
            worker.sessionmaker,
            translator=worker.translator,
            clock=worker.clock,
            storage=storage,
            extra_routers=extra_routers,
            scheduler=worker.background.scheduler,
        )
        try:
            yield Process(
                settings,
                worker.engine,
                worker.sessionmaker,
                worker.translator,
                worker.background,
                bot,
                dispatcher,
            )
        finally:
            await dispatcher.storage.close()
            await bot.session.close()


async def run_polling(
    settings: Settings, *, clock: Clock | None = None, run_jobs: bool = True
) -> None:
    """Long polling; with `run_jobs` this process also competes for the worker lease (the
    scheduler and the sender), otherwise it only serves updates (`run --no-scheduler`)."""
    async with open_process(settings, clock=clock, run_jobs=run_jobs) as process:
        await process.poll()


async def run_webhook(
    settings: Settings, *, clock: Clock | None = None, run_jobs: bool = True
) -> None:
    """The webhook server; `run_jobs` as for `run_polling` (replicas pass False and one
    `greenhood worker` runs the jobs)."""
    check_webhook_settings(settings)  # before touching the database
    async with open_process(settings, clock=clock, run_jobs=run_jobs) as process:
        await process.webhook()


async def run_worker(settings: Settings, *, clock: Clock | None = None) -> None:
    """`greenhood worker`: the scheduler and the sender alone, until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with open_worker(settings, clock=clock):
        await stop.wait()
        logger.info("stopping: finishing the messages in flight")
