"""The one wiring entry point, shared by `run`, `worker`, `console` and the tests."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from magic_filter import MagicFilter
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core import telegram_types  # noqa: F401  (keeps aiogram's response models built)
from bot.core.clock import Clock, SystemClock
from bot.core.settings import Settings
from bot.services.geo.geocoding import create_geocoder
from bot.services.throttling import MemoryThrottle, RedisThrottle
from bot.services.users import all_organiser_ids
from bot.serving.fsm import CompactMemoryStorage, LocalEventIsolation
from bot.serving.middlewares import (
    DbSessionMiddleware,
    InboxMiddleware,
    LocaleMiddleware,
    ThrottlingMiddleware,
    UserMiddleware,
)
from bot.serving.middlewares.throttling import Throttle
from bot.serving.requests import CommitBeforeCalls, TolerateStaleUi
from bot.serving.transport import JsonAiohttpSession
from bot.ui.commands import register_commands
from bot.ui.i18n import Translator, create_translator
from bot.worker.scheduler import Scheduler
from handlers import get_commands, get_routers
from models.database import create_engine, create_sessionmaker, is_empty, needs_upgrade, upgrade

if TYPE_CHECKING:
    from bot.serving.runtime import Runtime

logger = logging.getLogger(__name__)

# A token that passes aiogram's format check, for modes that never reach Telegram.
OFFLINE_TOKEN = "1000000000:offline-console-token"


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    token = settings.token or OFFLINE_TOKEN
    if session is None:
        session = JsonAiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
        session.middleware(TolerateStaleUi())
        session.middleware(CommitBeforeCalls())
    return Bot(
        token=token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def _detach(router: Router) -> None:
    """Routers are module-level, and aiogram lets a router belong to one parent only; a
    process that builds a second dispatcher (tests, benchmarks, the console after a
    restart) takes them over from the first."""
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None


def _magic_filters_on_the_loop(router: Router) -> None:
    """aiogram runs every synchronous filter in a worker thread (`asyncio.to_thread`),
    including the `F.…` magic filters most handlers carry, and tries filters handler after
    handler until one matches: a thread hand-off each, for a check of a few attribute
    reads. They are resolved on the event loop instead (found profiling the throughput
    benchmark: 2.5 % of the CPU went to those hand-offs)."""
    for observer in router.observers.values():
        for handler in (observer._handler, *observer.handlers):
            for item in handler.filters or ():
                if item.magic is not None and not item.awaitable:
                    item.callback = _on_the_loop(item.magic)
                    item.awaitable = True


def _on_the_loop(magic: MagicFilter) -> Callable[[Any], Awaitable[Any]]:
    async def resolve(value: Any) -> Any:
        return magic.resolve(value)

    return resolve


def create_dispatcher(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    translator: Translator | None = None,
    clock: Clock | None = None,
    storage: BaseStorage | None = None,
    events_isolation: BaseEventIsolation | None = None,
    throttle: Throttle | None = None,
    extra_routers: Sequence[Router] = (),
    scheduler: Scheduler | None = None,
) -> Dispatcher:
    clock = clock or SystemClock()
    if storage is None and settings.redis_url:
        storage = RedisStorage.from_url(
            settings.redis_url,
            key_builder=DefaultKeyBuilder(prefix=settings.redis_prefix, with_destiny=True),
        )
    if events_isolation is None and isinstance(storage, RedisStorage):
        # Per-user ordering must hold across replicas, so the lock lives in Redis too.
        events_isolation = storage.create_isolation()
    translator = translator or create_translator(settings.locales_dir, settings.default_language)
    dispatcher = Dispatcher(
        storage=storage or CompactMemoryStorage(),
        # One person's updates are handled in order; different people run concurrently.
        events_isolation=events_isolation or LocalEventIsolation(),
        settings=settings,
        sessionmaker=sessionmaker,
        translator=translator,
        clock=clock,
        geocoder=create_geocoder(settings.geocoder),
        # None where no job store is reachable (the terminal chat): scheduled broadcasts
        # then rely on the worker's sweep of the broadcasts table.
        scheduler=scheduler,
    )
    if throttle is None and isinstance(dispatcher.storage, RedisStorage):
        throttle = RedisThrottle(
            dispatcher.storage.redis,
            settings.redis_prefix,
            clock,
            settings.throttle_rate,
            settings.throttle_burst,
        )
    throttle = throttle or MemoryThrottle(clock, settings.throttle_rate, settings.throttle_burst)
    # The inbox row is claimed and marked done inside the update's DB transaction, so the
    # session comes first; a throttled update is still marked done (dropped on purpose).
    dispatcher.update.outer_middleware(DbSessionMiddleware(sessionmaker))
    dispatcher.update.outer_middleware(InboxMiddleware(clock))
    dispatcher.update.outer_middleware(ThrottlingMiddleware(throttle))
    dispatcher.update.outer_middleware(UserMiddleware(clock))
    dispatcher.update.outer_middleware(LocaleMiddleware(translator))
    # Test-only routers go before the fallback so they are reachable.
    routers = get_routers()
    for router in (*routers, *extra_routers):
        _detach(router)
    dispatcher.include_routers(*routers[:-1], *extra_routers, routers[-1])
    for router in dispatcher.chain_tail:
        _magic_filters_on_the_loop(router)

    async def on_startup(bot: Bot) -> None:
        async with sessionmaker() as session:
            organisers = await all_organiser_ids(session, settings.organiser_ids)
        await register_commands(bot, get_commands(), translator, organisers)

    dispatcher.startup.register(on_startup)
    return dispatcher


async def prepare_database(settings: Settings, *, seed_demo: bool = True) -> AsyncEngine:
    """An engine on DATABASE_URL, migrated to the latest schema; a brand-new database
    also gets the demo data when `seed_demo` (so a first `make run` shows a living bot)."""
    engine = create_engine(settings.database_url)
    empty = await is_empty(engine)
    if await needs_upgrade(engine):
        await upgrade(engine)
    if empty and seed_demo:
        from bot.app.demo import load_demo_into

        for line in await load_demo_into(create_sessionmaker(engine), settings):
            logger.info("demo data: %s", line)
    return engine


def create_runtime(bot: Bot, dispatcher: Dispatcher, settings: Settings) -> Runtime:
    """The serving loop (polling or webhook) around the inbox. Kept as Dispatcher data
    `runtime`, so that whoever started it can stop it: `dispatcher["runtime"].stop()`."""
    from bot.serving.runtime import Runtime

    runtime = Runtime(
        settings, bot, dispatcher, dispatcher["sessionmaker"], clock=dispatcher["clock"]
    )
    dispatcher["runtime"] = runtime
    return runtime


async def poll(
    bot: Bot, dispatcher: Dispatcher, settings: Settings, *, handle_signals: bool = True
) -> None:
    """Long polling until stopped (SIGTERM/SIGINT, or `dispatcher["runtime"].stop()`):
    each batch is committed to the inbox before the next getUpdates confirms it; updates
    run as tasks, bounded by MAX_CONCURRENT_UPDATES; stopping finishes those in hand."""
    await create_runtime(bot, dispatcher, settings).run_polling(handle_signals=handle_signals)


async def serve_webhook(
    bot: Bot, dispatcher: Dispatcher, settings: Settings, *, handle_signals: bool = True
) -> None:
    """The webhook server (WEBHOOK_*), until stopped like `poll`: each update is committed
    to the inbox before it is answered 200; GET /healthz for load balancers."""
    await create_runtime(bot, dispatcher, settings).run_webhook(handle_signals=handle_signals)


async def _serve(settings: Settings, clock: Clock | None, *, run_jobs: bool, webhook: bool) -> None:
    from bot.worker.background import Background

    engine = await prepare_database(settings, seed_demo=False)
    try:
        bot = create_bot(settings)
        sessionmaker = create_sessionmaker(engine)
        translator = create_translator(settings.locales_dir, settings.default_language)
        # Its own HTTP session: serving closes the bot's when it stops, while the sender
        # still finishes the messages in flight.
        sender_bot = create_bot(settings)
        background = Background(
            settings, sessionmaker, sender_bot, translator, clock, run_jobs=run_jobs
        )
        dispatcher = create_dispatcher(
            settings,
            sessionmaker,
            translator=translator,
            clock=background.clock,
            scheduler=background.scheduler,
        )
        serve = serve_webhook if webhook else poll
        try:
            async with background:
                await serve(bot, dispatcher, settings)
        finally:
            await sender_bot.session.close()
    finally:
        await engine.dispose()


async def run_polling(
    settings: Settings, *, clock: Clock | None = None, run_jobs: bool = True
) -> None:
    """Long polling; with `run_jobs` this process also competes for the worker lease (the
    scheduler and the sender), otherwise it only serves updates (`run --no-scheduler`)."""
    await _serve(settings, clock, run_jobs=run_jobs, webhook=False)


async def run_webhook(
    settings: Settings, *, clock: Clock | None = None, run_jobs: bool = True
) -> None:
    """The webhook server; `run_jobs` as for `run_polling` (replicas pass False and one
    `greenhood worker` runs the jobs)."""
    from bot.serving.runtime import check_webhook_settings

    check_webhook_settings(settings)  # before touching the database
    await _serve(settings, clock, run_jobs=run_jobs, webhook=True)
