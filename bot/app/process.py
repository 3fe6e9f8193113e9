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
from bot.core.metrics import Metrics, serve_metrics
from bot.core.settings import Settings
from bot.services import monitoring
from bot.serving.runtime import Runtime, check_webhook_settings
from bot.serving.web import WebContext
from bot.serving.web.app import serve_web
from bot.ui.i18n import Translator, create_translator
from bot.worker.background import LEASE_NAME, Background, BackgroundTiming
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
    # This process's /metrics (bot.core.metrics), on a registry of its own.
    metrics: Metrics

    @property
    def clock(self) -> Clock:
        return self.background.clock

    def web_context(self) -> WebContext:
        """What the dashboard, the contest screens and /metrics need (bot.serving.web)."""
        return WebContext(
            self.settings, self.sessionmaker, self.translator, self.clock, self.metrics
        )


@dataclass(slots=True)
class Process(Worker):
    """A serving process: a worker plus the bot and the dispatcher its updates go to."""

    bot: Bot
    dispatcher: Dispatcher

    def runtime(self) -> Runtime:
        """The serving loop (polling or webhook) around the inbox. Kept as Dispatcher data
        `runtime`, so that whoever started it can stop it: `dispatcher["runtime"].stop()`."""
        runtime = Runtime(
            self.settings,
            self.bot,
            self.dispatcher,
            self.sessionmaker,
            clock=self.clock,
            web=self.web_context(),
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
    metrics = Metrics()
    # Its own HTTP session: serving closes the bot's when it stops, while the sender
    # still finishes the messages in flight.
    sender_bot = create_bot(settings, metrics=metrics, role="worker")
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
        observe_background(metrics, settings, sessionmaker, background)
        async with contextlib.AsyncExitStack() as stack:
            if settings.metrics_port is not None:
                await stack.enter_async_context(
                    serve_metrics(metrics, settings.metrics_host, settings.metrics_port)
                )
            await stack.enter_async_context(background)
            yield Worker(settings, engine, sessionmaker, translator, background, metrics)
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
        bot = create_bot(settings, metrics=worker.metrics)
        dispatcher = create_dispatcher(
            settings,
            worker.sessionmaker,
            translator=worker.translator,
            clock=worker.clock,
            storage=storage,
            extra_routers=extra_routers,
            scheduler=worker.background.scheduler,
            metrics=worker.metrics,
        )
        try:
            yield Process(
                settings,
                worker.engine,
                worker.sessionmaker,
                worker.translator,
                worker.background,
                worker.metrics,
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


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    return stop


async def run_worker(settings: Settings, *, clock: Clock | None = None) -> None:
    """`greenhood worker`: the scheduler and the sender alone, until SIGINT/SIGTERM."""
    stop = _stop_on_signals()
    async with open_worker(settings, clock=clock):
        await stop.wait()
        logger.info("stopping: finishing the messages in flight")


async def run_web(settings: Settings, *, clock: Clock | None = None) -> None:
    """`greenhood web`: the dashboard, the contest screens and /metrics on WEB_PORT, for
    deployments that poll (a webhook server serves them itself), until SIGINT/SIGTERM.
    It runs no job and sends nothing."""
    stop = _stop_on_signals()
    async with (
        open_worker(settings, clock=clock, run_jobs=False) as worker,
        serve_web(worker.web_context(), settings.web_host, settings.web_port),
    ):
        await stop.wait()


def observe_background(
    metrics: Metrics,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    background: Background,
) -> None:
    """Wire the worker's side of /metrics: scheduled runs, the lease, and the database
    figures (backlogs, the lease's expiry) read when scraped."""
    metrics.sender_rate_limit.set(settings.broadcast_rate)
    background.scheduler.observers.append(metrics.job_event)
    metrics.lease_held.set_function(lambda: 1.0 if background.leading.is_set() else 0.0)

    async def database_figures() -> None:
        async with sessionmaker() as session:
            figures = await monitoring.backlogs(session, background.clock.now(), LEASE_NAME)
        metrics.inbox_backlog.set(figures.inbox_pending)
        metrics.outbox_backlog.labels("due").set(figures.outbox_due)
        metrics.outbox_backlog.labels("waiting").set(figures.outbox_waiting)
        metrics.outbox_backlog.labels("sending").set(figures.outbox_sending)
        metrics.outbox_oldest_due.set(figures.oldest_due_seconds)
        left = figures.lease_seconds_left
        metrics.lease_seconds_left.set(0.0 if left is None else left)

    metrics.refreshers.append(database_figures)
