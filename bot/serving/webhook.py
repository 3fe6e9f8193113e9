"""The webhook endpoint (aiogram's aiohttp SimpleRequestHandler, storing into the inbox
before answering) and the health endpoint."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import inbox
from bot.services.geo import privacy
from bot.serving.processing import UpdateProcessor
from bot.ui.conversations import redis_errors, redis_storage

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_TIMEOUT = 3.0


def _secret_bytes(value: str) -> bytes:
    # Header values may hold any byte; never let an odd one raise (compare_digest refuses
    # non-ASCII str).
    return value.encode("utf-8", "surrogateescape")


class InboxRequestHandler(SimpleRequestHandler):
    """Checks the secret on every request (constant time), stores the update in the inbox,
    answers 200 once it is committed and handles it in the background. A redelivered
    update is answered 200 and ignored; if the database cannot take it, 503 makes
    Telegram deliver it again later."""

    def __init__(
        self, dispatcher: Dispatcher, bot: Bot, processor: UpdateProcessor, secret: str
    ) -> None:
        if not secret:
            raise ValueError("a webhook needs a secret")
        super().__init__(dispatcher, bot, handle_in_background=True, secret_token=secret)
        self._secret = _secret_bytes(secret)
        self._processor = processor
        self.accepting = True

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        return hmac.compare_digest(_secret_bytes(telegram_secret_token), self._secret)

    async def _handle_request_background(self, bot: Bot, request: web.Request) -> web.Response:
        if not self.accepting:
            # Shutting down: let Telegram deliver it again, to another replica or later.
            return web.Response(status=503, text="shutting down")
        try:
            raw: Any = await request.json(loads=bot.session.json_loads)
        except ValueError:
            return web.Response(status=400, text="not JSON")
        if not isinstance(raw, dict) or type(raw.get("update_id")) is not int:
            return web.Response(status=400, text="not an update")
        # Shared points rounded before anything keeps them (bot/services/geo/privacy.py).
        privacy.coarsen(raw)
        try:
            update = Update.model_validate(raw, context={"bot": bot})
        except ValidationError:
            logger.warning("webhook: unreadable update %s refused", raw["update_id"])
            return web.Response(status=400, text="not an update")
        try:
            new = await self._processor.store_one(update, json.dumps(raw))
        except SQLAlchemyError:
            logger.exception("webhook: could not store update %s", update.update_id)
            return web.Response(status=503, text="try again")
        if new:
            await self._processor.schedule(update)
        return web.json_response({})


def health_handler(
    sessionmaker: async_sessionmaker[AsyncSession],
    dispatcher: Dispatcher,
    accepting: Callable[[], bool] = lambda: True,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /healthz: 200 when the database (and Redis, when configured) answer and the
    process is not shutting down, else 503. The inbox backlog is reported for monitoring."""

    async def healthz(request: web.Request) -> web.Response:
        report: dict[str, Any] = {}
        healthy = accepting()
        if not healthy:
            report["shutting_down"] = True
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT), sessionmaker() as session:
                report["inbox_backlog"] = await inbox.backlog(session)
            report["database"] = "ok"
        except (SQLAlchemyError, OSError, TimeoutError) as error:
            report["database"] = f"error: {type(error).__name__}"
            healthy = False
        storage = redis_storage(dispatcher.storage)
        if storage is not None:
            try:
                async with asyncio.timeout(HEALTH_TIMEOUT):
                    await storage.redis.ping()
                report["redis"] = "ok"
            except redis_errors(OSError, TimeoutError) as error:
                report["redis"] = f"error: {type(error).__name__}"
                healthy = False
        else:
            report["redis"] = "not configured"
        report["status"] = "ok" if healthy else "unhealthy"
        return web.json_response(report, status=200 if healthy else 503)

    return healthz
