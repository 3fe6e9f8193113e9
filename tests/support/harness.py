"""Runs the real bot (the production wiring) against the test Bot API server."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from aiogram import Bot, Dispatcher, Router
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import Update
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app.process import open_process
from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.serving.runtime import Runtime
from bot.standin import BotApiStandIn
from bot.worker.background import Background, BackgroundTiming


class UpdateTracker:
    """Knows which updates the bot has finished with, database commit included.

    The bot commits an update's changes after its replies went out, so a test that reads
    the database right after a reply could be too early: `settled()` waits until every
    update the server has pending or has handed over went all the way through the inbox
    processor (handled, or recognised as already received), and the processor is idle."""

    def __init__(self, server: BotApiStandIn, dispatcher: Dispatcher) -> None:
        self._server = server
        self._dispatcher = dispatcher
        self.completed: set[int] = set()
        feed_update = dispatcher.feed_update

        async def tracked_feed_update(bot: Bot, update: Update, **kwargs: object) -> object:
            try:
                return await feed_update(bot, update, **kwargs)
            finally:
                self.completed.add(update.update_id)

        # Instance attribute: the processor calls self._dispatcher.feed_update.
        dispatcher.feed_update = tracked_feed_update  # type: ignore[method-assign]

    def watch(self, runtime: Runtime) -> None:
        """Updates received again are dropped by the inbox, never fed: count them too."""
        processor = runtime.processor
        store = processor.store

        async def tracked_store(
            updates: Sequence[Update], payloads: Sequence[str] | None = None
        ) -> list[Update]:
            new = await store(updates, payloads)
            fresh = {update.update_id for update in new}
            self.completed.update(u.update_id for u in updates if u.update_id not in fresh)
            return new

        processor.store = tracked_store  # type: ignore[method-assign]

    def _unfinished(self) -> set[int]:
        return self._server.handed_over_ids - self.completed

    async def settled(self, timeout: float = 15.0) -> None:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            unfinished = self._unfinished()
            runtime: Runtime | None = self._dispatcher.workflow_data.get("runtime")
            if not unfinished and runtime is not None:
                # The handlers are done with every update; the processor may still be
                # recording some as done (batched marks).
                await asyncio.wait_for(runtime.processor.idle(), deadline - loop.time())
                if not self._unfinished():
                    return
                continue
            if loop.time() >= deadline:
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
    runtime: Runtime
    tracker: UpdateTracker
    background: Background | None = None

    async def settled(self) -> None:
        await self.tracker.settled()


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings,
    server: BotApiStandIn,
    *,
    clock: Clock | None = None,
    extra_routers: Sequence[Router] = (),
    storage: BaseStorage | None = None,
    webhook: bool = False,
    background: bool = False,
    background_timing: BackgroundTiming | None = None,
) -> AsyncIterator[RunningBot]:
    """The bot polling `server`, or with `webhook=True` serving a webhook on a free port
    that `server` delivers to (the WEBHOOK_* settings are filled in). `background`: also
    run the scheduler, the sender and the progress reporter (bot/worker/background.py), as
    `greenhood run` does."""
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
    async with open_process(
        settings,
        clock=clock,
        run_jobs=background,
        storage=storage,
        extra_routers=extra_routers,
        background_timing=background_timing,
    ) as process:
        tracker = UpdateTracker(server, process.dispatcher)
        since = server.mark()
        serve = process.webhook if webhook else process.poll
        task = asyncio.create_task(serve(handle_signals=False))
        try:
            # Ready once the bot asks for updates or has set its webhook (start-up commands
            # are registered by then).
            await server.wait_for(
                "setWebhook" if webhook else "getUpdates", since=since, timeout=15
            )
            runtime: Runtime = process.dispatcher["runtime"]
            await asyncio.wait_for(runtime.ready.wait(), timeout=15)
            tracker.watch(runtime)
            if background:
                await asyncio.wait_for(process.background.leading.wait(), timeout=15)
            yield RunningBot(
                settings,
                process.engine,
                SettledSessions(process.sessionmaker, tracker),
                process.bot,
                process.dispatcher,
                runtime,
                tracker,
                process.background if background else None,
            )
        finally:
            if "runtime" in process.dispatcher.workflow_data:
                process.dispatcher["runtime"].stop()
            await asyncio.wait_for(task, timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
