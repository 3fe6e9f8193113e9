from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram.types import User as TelegramUser

from bot.services.throttling import ThrottleVerdict


class Throttle(Protocol):
    async def hit(self, user_id: int) -> ThrottleVerdict: ...


class ThrottlingMiddleware(BaseMiddleware):
    """Drops floods early; the first dropped update of a flood goes on, marked `throttled`,
    so the throttle handler can tell the person (and callbacks always get their spinner
    stopped)."""

    def __init__(self, throttle: Throttle) -> None:
        self._throttle = throttle

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        sender: TelegramUser | None = data.get("event_from_user")
        if sender is None or not isinstance(event, Update):
            return await handler(event, data)
        if event.message is None and event.callback_query is None:
            return await handler(event, data)
        verdict = await self._throttle.hit(sender.id)
        if verdict.allowed:
            return await handler(event, data)
        if event.message is not None and not verdict.notify:
            return None
        data["throttled"] = verdict
        return await handler(event, data)
