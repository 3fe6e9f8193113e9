"""The one wiring entry point, shared by `run`, `worker`, `console` and the tests."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core import telegram_types  # noqa: F401  (keeps aiogram's response models built)
from bot.core.clock import Clock, SystemClock
from bot.core.metrics import Metrics
from bot.core.scheduling import Scheduler
from bot.core.settings import Settings
from bot.services.geo.geocoding import create_geocoder
from bot.services.throttling import MemoryThrottle, RedisThrottle
from bot.services.users import all_organiser_ids
from bot.serving.fsm import CompactMemoryStorage, LocalEventIsolation
from bot.serving.metrics import TelegramCallMetrics, UpdateMetrics
from bot.serving.middlewares import (
    DbSessionMiddleware,
    InboxMiddleware,
    LocaleMiddleware,
    ThrottlingMiddleware,
    UserMiddleware,
)
from bot.serving.middlewares.inbox import ReplySettler
from bot.serving.middlewares.throttling import Throttle
from bot.serving.requests import DurableCalls, TolerateStaleUi
from bot.serving.transport import JsonAiohttpSession
from bot.ui.commands import register_commands
from bot.ui.conversations import redis_storage
from bot.ui.i18n import Translator, create_translator
from bot.ui.pictures.maps import MapMaker
from bot.ui.views.dashboard import set_dashboard_menus
from handlers import create_routers, get_commands
from models.database import create_engine, create_sessionmaker, is_empty, needs_upgrade, upgrade

logger = logging.getLogger(__name__)

# A token that passes aiogram's format check, for modes that never reach Telegram.
# Redis connections of one process, and how long an update waits for a free one.
REDIS_CONNECTIONS = 100
REDIS_WAIT_SECONDS = 30

OFFLINE_TOKEN = "1000000000:offline-console-token"


def create_bot(
    settings: Settings,
    session: BaseSession | None = None,
    *,
    metrics: Metrics | None = None,
    role: str = "serving",
) -> Bot:
    """`metrics`/`role`: count this bot's calls ("serving": replies; "worker": the sender)."""
    token = settings.token or OFFLINE_TOKEN
    if session is None:
        session = JsonAiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
        session.middleware(TolerateStaleUi())
        session.middleware(DurableCalls())
        if metrics is not None:
            # Innermost: counts what Telegram answered, before any refusal is forgiven.
            session.middleware(TelegramCallMetrics(metrics, role))
    return Bot(
        token=token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


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
    metrics: Metrics | None = None,
    maps: MapMaker | None = None,
) -> Dispatcher:
    clock = clock or SystemClock()
    maps = maps or MapMaker.from_settings(settings, clock)
    if storage is None and settings.redis_url:
        # Imported here: a process without Redis never loads redis-py (bot.ui.conversations).
        from aiogram.fsm.storage.redis import RedisStorage
        from redis.asyncio import BlockingConnectionPool, Redis

        # A pool that waits for a free connection: redis-py's default pool raises "Too many
        # connections" past 100 in use, which a burst of people (each update takes a lock
        # and reads its conversation state) reaches, and the update then waits for the
        # sweep instead of a few milliseconds.
        pool = BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=REDIS_CONNECTIONS, timeout=REDIS_WAIT_SECONDS
        )
        storage = RedisStorage(
            redis=Redis(connection_pool=pool),
            key_builder=DefaultKeyBuilder(prefix=settings.redis_prefix, with_destiny=True),
        )
    # Per-person ordering across replicas is the update processor's: it holds the person's
    # Redis lock (bot/serving/locks.RedisLocks) around the whole update, and that lock names
    # its holder, so a process killed while holding it frees it at once. aiogram's
    # RedisEventIsolation would add a second Redis lock per update that a kill leaves held
    # for its minute (the crash test saw every restart wait on it).
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
        # Every command of the menus, for /help (the same list Telegram's menu gets).
        commands=get_commands(),
        # None where no job store is reachable (the terminal chat): scheduled broadcasts
        # then rely on the worker's sweep of the broadcasts table.
        scheduler=scheduler,
        # Map pictures: tiles (HTTP, disk cache) and the threads that draw them.
        maps=maps,
    )
    redis = redis_storage(dispatcher.storage)
    if throttle is None and redis is not None:
        throttle = RedisThrottle(
            redis.redis,
            settings.redis_prefix,
            clock,
            settings.throttle_rate,
            settings.throttle_burst,
        )
    throttle = throttle or MemoryThrottle(clock, settings.throttle_rate, settings.throttle_burst)
    if metrics is not None:
        # Before the session: the time and failures of everything below are counted.
        dispatcher.update.outer_middleware(UpdateMetrics(metrics))
    # The inbox row is claimed and marked done inside the update's DB transaction, so the
    # session comes first; a throttled update is still marked done (dropped on purpose).
    dispatcher.update.outer_middleware(DbSessionMiddleware(sessionmaker))
    # One per process: the replies' outcomes are written by whichever transaction comes
    # next, an update's or the update processor's batch (bot.serving.processing).
    settler = ReplySettler()
    dispatcher["reply_settler"] = settler
    dispatcher.update.outer_middleware(InboxMiddleware(clock, settler))
    dispatcher.update.outer_middleware(ThrottlingMiddleware(throttle))
    dispatcher.update.outer_middleware(UserMiddleware(clock))
    dispatcher.update.outer_middleware(LocaleMiddleware(translator))
    # Test-only routers go before the fallback so they are reachable.
    routers = create_routers()
    dispatcher.include_routers(*routers[:-1], *extra_routers, routers[-1])

    async def on_startup(bot: Bot) -> None:
        async with sessionmaker() as session:
            organisers = await all_organiser_ids(session, settings.organiser_ids)
        await register_commands(bot, get_commands(), translator, organisers)
        if settings.web_base_url:
            await set_dashboard_menus(
                bot, settings.web_base_url, translator, sessionmaker, organisers
            )

    dispatcher.startup.register(on_startup)
    dispatcher.shutdown.register(maps.close)
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
