"""Counting what a process serves, for `/metrics` (bot.core.metrics holds the metrics).

Three hooks, each installed by the wiring without changing the code it observes:
- `UpdateMetrics`, an outer update middleware placed before the database session: every
  update fed to the dispatcher is timed and counted as handled or failed, by kind;
- `TelegramCallMetrics`, a Bot API request middleware placed innermost, so it sees what
  Telegram really answered (before TolerateStaleUi turns harmless refusals into
  successes): every call by method and outcome; the updates a getUpdates returned are
  counted as received; the worker's successful sends feed the achieved-rate window;
- `count_webhook_updates`, an aiohttp middleware: updates the webhook accepted (200) are
  counted as received.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject, Update
from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.core.metrics import Metrics

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response

UNKNOWN_KIND = "unknown"


def update_kind(update: Update) -> str:
    try:
        return update.event_type
    except Exception:  # noqa: BLE001 - aiogram raises its own lookup error for new kinds
        return UNKNOWN_KIND


def call_outcome(error: BaseException | None) -> str:
    """The `outcome` label of a Bot API call."""
    if error is None:
        return "ok"
    if isinstance(error, TelegramRetryAfter):
        return "429"
    if isinstance(error, TelegramServerError):
        return "5xx"
    if isinstance(error, TelegramForbiddenError):
        return "blocked"
    if isinstance(error, TelegramNetworkError):
        return "network"
    if isinstance(error, TelegramAPIError):
        return "4xx"
    return "error"


class UpdateMetrics(BaseMiddleware):
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        kind = update_kind(event) if isinstance(event, Update) else UNKNOWN_KIND
        started = time.perf_counter()
        try:
            result = await handler(event, data)
        except Exception:
            self._metrics.updates_failed.labels(kind).inc()
            raise
        finally:
            self._metrics.update_seconds.labels(kind).observe(time.perf_counter() - started)
        self._metrics.updates_handled.labels(kind).inc()
        return result


class TelegramCallMetrics(BaseRequestMiddleware):
    """`bot_role`: "serving" (replies to updates) or "worker" (the outbox sender)."""

    def __init__(self, metrics: Metrics, bot_role: str) -> None:
        self._metrics = metrics
        self._role = bot_role

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = getattr(method, "__api_method__", type(method).__name__)
        polling = isinstance(method, GetUpdates)  # kept apart: no narrowing of `method`
        if polling:
            # A long poll is no send: only the updates it brings are counted.
            result = await make_request(bot, method)
            # The session hands the result itself up the chain (bot.serving.requests).
            received: object = result
            for update in received if isinstance(received, list) else ():
                if isinstance(update, Update):
                    self._metrics.updates_received.labels(update_kind(update)).inc()
            return result
        try:
            result = await make_request(bot, method)
        except Exception as error:
            self._metrics.telegram_calls.labels(self._role, name, call_outcome(error)).inc()
            raise
        self._metrics.telegram_calls.labels(self._role, name, "ok").inc()
        if self._role == "worker" and name.startswith("send"):
            self._metrics.sender_rate.note()
        return result


def count_webhook_updates(metrics: Metrics, path: str) -> Middleware:
    """Counts the updates the webhook at `path` accepted (answered 200), by kind."""

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        response = await handler(request)
        if request.method == "POST" and request.path == path and response.status == 200:
            # The handler has read the body: aiohttp keeps it, nothing is read twice.
            try:
                body = json.loads(await request.read())
            except ValueError:
                return response
            if isinstance(body, dict):
                kinds = [key for key in body if key != "update_id"]
                metrics.updates_received.labels(kinds[0] if kinds else UNKNOWN_KIND).inc()
        return response

    return middleware
