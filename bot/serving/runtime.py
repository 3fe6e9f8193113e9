"""A serving process: long polling or a webhook, both feeding the inbox (bot.serving.processing),
with start-up recovery, periodic inbox upkeep and a graceful, bounded shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
from collections.abc import Awaitable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.exceptions import AiogramError
from aiogram.methods import GetUpdates
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig
from aiogram.webhook.aiohttp_server import setup_application
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.services import inbox
from bot.serving.locks import LocalLocks, Locks, RedisLocks
from bot.serving.processing import UpdateProcessor
from bot.serving.web import WebContext
from bot.serving.web import mount as mount_web
from bot.serving.webhook import InboxRequestHandler, health_handler
from bot.ui.conversations import redis_errors, redis_storage

logger = logging.getLogger(__name__)

T = TypeVar("T")

BACKOFF = BackoffConfig(min_delay=1.0, max_delay=5.0, factor=1.3, jitter=0.1)
MAINTENANCE_EVERY = 60.0
WEBHOOK_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class ConfigurationError(ValueError):
    pass


def check_webhook_settings(settings: Settings) -> tuple[str, str]:
    """The webhook URL and secret, or a ConfigurationError saying what is missing."""
    url = settings.webhook_url or ""
    if urlsplit(url).scheme not in {"http", "https"} or not urlsplit(url).netloc:
        raise ConfigurationError("WEBHOOK_URL must be the public https:// URL of this webhook")
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if not secret:
        raise ConfigurationError(
            "WEBHOOK_SECRET is required in webhook mode: without it anyone could post updates"
        )
    if not WEBHOOK_SECRET_PATTERN.fullmatch(secret):
        raise ConfigurationError(
            "WEBHOOK_SECRET must be 1-256 characters among A-Z, a-z, 0-9, _ and - (Telegram's rule)"
        )
    return url, secret


def create_locks(settings: Settings, dispatcher: Dispatcher) -> Locks:
    """Redis locks when conversation state lives in Redis (several replicas), else local."""
    storage = redis_storage(dispatcher.storage)
    if storage is not None:
        return RedisLocks(storage.redis, settings.redis_prefix)
    return LocalLocks()


class Runtime:
    def __init__(
        self,
        settings: Settings,
        bot: Bot,
        dispatcher: Dispatcher,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Clock,
        locks: Locks | None = None,
        web: WebContext | None = None,
    ) -> None:
        self.settings = settings
        # The dashboard, contest screens and /metrics, served by the webhook server.
        self.web = web
        self.bot = bot
        self.dispatcher = dispatcher
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.locks = locks or create_locks(settings, dispatcher)
        self.processor = UpdateProcessor(
            bot,
            dispatcher,
            sessionmaker,
            clock,
            self.locks,
            concurrency=settings.max_concurrent_updates,
            shared=isinstance(self.locks, RedisLocks),
        )
        self.ready = asyncio.Event()
        # False once stopping: no new update is taken (the webhook answers 503).
        self.accepting = False
        self.port: int | None = None
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    # ------------------------------------------------------------------ helpers

    @contextlib.contextmanager
    def _signals(self, enabled: bool) -> Any:
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        if enabled:
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError):
                    loop.add_signal_handler(sig, self._on_signal, sig)
                    installed.append(sig)
        try:
            yield
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        logger.warning("%s received: finishing the updates in hand, then stopping", sig.name)
        self.stop()

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake up at once when asked to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _unless_stopped(self, awaitable: Awaitable[T]) -> tuple[bool, T | None]:
        """(True, result) or, when asked to stop first, (False, None) with the call cancelled."""
        task = asyncio.ensure_future(awaitable)
        stopper = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if task.done():
            return True, task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return False, None

    async def _maintain(self) -> None:
        """Every minute, one process at a time: forget old inbox rows, pick up stale ones."""
        while not self._stop.is_set():
            await self._sleep(MAINTENANCE_EVERY)
            if self._stop.is_set():
                return
            try:
                async with self.locks.try_lock("inbox-maintenance") as mine:
                    if not mine:
                        continue
                    async with self.sessionmaker() as session:
                        purged = await inbox.purge_inbox(session, self.clock.now())
                        await session.commit()
                    resumed = await self.processor.recover(stale_only=True)
                if purged or resumed:
                    logger.info(
                        "inbox: %d old rows purged, %d stale updates resumed", purged, resumed
                    )
            except redis_errors(SQLAlchemyError, OSError):
                logger.exception("inbox upkeep failed; trying again in a minute")

    # ------------------------------------------------------------------ long polling

    async def run_polling(self, *, handle_signals: bool = True) -> None:
        workflow = {
            "dispatcher": self.dispatcher,
            "bots": [self.bot],
            **self.dispatcher.workflow_data,
        }
        with self._signals(handle_signals):
            await self.dispatcher.emit_startup(bot=self.bot, **workflow)
            try:
                await self.bot.delete_webhook(drop_pending_updates=False)
                resumed = await self.processor.recover()
                if resumed:
                    logger.info("resuming %d update(s) left unhandled", resumed)
                maintenance = asyncio.create_task(self._maintain())
                try:
                    await self._poll()
                finally:
                    maintenance.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await maintenance
                    await self.processor.drain(self.settings.shutdown_timeout)
            finally:
                try:
                    await self.dispatcher.emit_shutdown(bot=self.bot, **workflow)
                finally:
                    await self.bot.session.close()

    async def _poll(self) -> None:
        """getUpdates, store the batch, and only then ask for the next one (whose offset
        tells Telegram we have this one)."""
        get_updates = GetUpdates(
            timeout=self.settings.polling_timeout,
            allowed_updates=self.dispatcher.resolve_used_update_types(),
        )
        # Wait longer than the long poll itself before calling the request failed.
        request_timeout = int(self.bot.session.timeout + self.settings.polling_timeout)
        backoff = Backoff(BACKOFF)
        logger.info("polling for updates")
        self.accepting = True
        self.ready.set()
        while not self._stop.is_set():
            request: Awaitable[list[Update]] = self.bot(
                get_updates, request_timeout=request_timeout
            )
            try:
                going, updates = await self._unless_stopped(request)
            except AiogramError as error:
                logger.error("getUpdates failed (%s); retrying in %.1fs", error, backoff.next_delay)
                await self._sleep(next(backoff))
                continue
            if not going:
                self.accepting = False
                return
            backoff.reset()
            if not updates:
                continue
            updates, payloads = self.processor.coarse(updates)
            try:
                new = await self.processor.store(updates, payloads)
            except SQLAlchemyError:
                # Not confirmed: the same batch comes again with the next getUpdates.
                logger.exception("could not store %d update(s); retrying", len(updates))
                await self._sleep(next(backoff))
                continue
            get_updates.offset = updates[-1].update_id + 1
            for update in new:
                await self.processor.schedule(update)

    # ------------------------------------------------------------------ webhook

    async def run_webhook(self, *, handle_signals: bool = True) -> None:
        url, secret = check_webhook_settings(self.settings)
        app = web.Application()
        handler = InboxRequestHandler(self.dispatcher, self.bot, self.processor, secret)
        handler.register(app, path=urlsplit(url).path or "/")
        if self.web is not None:
            mount_web(app, self.web, webhook_path=urlsplit(url).path or "/")
        app.router.add_get(
            "/healthz", health_handler(self.sessionmaker, self.dispatcher, lambda: self.accepting)
        )
        # Start-up and shutdown of the dispatcher follow the aiohttp application's.
        setup_application(app, self.dispatcher, bot=self.bot, bots=[self.bot])
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        with self._signals(handle_signals):
            await runner.setup()
            try:
                # Left-overs first, so that they come before any new update of the same person.
                resumed = await self.processor.recover()
                if resumed:
                    logger.info("resuming %d update(s) left unhandled", resumed)
                site = web.TCPSite(runner, self.settings.webhook_host, self.settings.webhook_port)
                await site.start()
                self.port = int(runner.addresses[0][1])
                await self.bot.set_webhook(
                    url=url,
                    secret_token=secret,
                    allowed_updates=self.dispatcher.resolve_used_update_types(),
                    drop_pending_updates=False,
                )
                maintenance = asyncio.create_task(self._maintain())
                logger.info("webhook listening on %s:%s", self.settings.webhook_host, self.port)
                self.accepting = True
                self.ready.set()
                try:
                    await self._stop.wait()
                finally:
                    # New deliveries get 503 (Telegram retries them elsewhere or later);
                    # the updates already accepted are finished.
                    self.accepting = handler.accepting = False
                    maintenance.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await maintenance
                    # Still listening meanwhile: a clear 503 (also from /healthz) tells the
                    # load balancer and Telegram to go elsewhere, where a closed port hangs.
                    await self.processor.drain(self.settings.shutdown_timeout)
            finally:
                await runner.cleanup()
