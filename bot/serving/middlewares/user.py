from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.services.users import Roles, TelegramProfile, upsert_user
from bot.serving.middlewares.inbox import InboxReceipt


class UserMiddleware(BaseMiddleware):
    """Upserts the sender's row and exposes it to handlers as `user`, with their `roles`."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        sender: TelegramUser | None = data.get("event_from_user")
        if sender is not None and not sender.is_bot:
            profile = TelegramProfile(
                id=sender.id,
                first_name=sender.first_name,
                username=sender.username,
                language_code=sender.language_code,
            )
            receipt: InboxReceipt | None = data.get("inbox_receipt")
            known = receipt.known_user if receipt is not None else None
            data["user"] = await upsert_user(data["session"], profile, self._clock.now(), known)
            settings: Settings = data["settings"]
            data["roles"] = Roles(data["session"], sender.id, settings.organiser_ids, known)
        return await handler(event, data)
