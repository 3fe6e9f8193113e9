from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from bot.clock import Clock
from bot.services import inbox

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class InboxReceipt:
    """Passed with an update fed from the inbox; says whether the update's own transaction
    settled its inbox row (marked it done, or found it was not ours to handle)."""

    update_id: int
    settled: bool = False


class InboxMiddleware(BaseMiddleware):
    """Inside the DB session: claims the update's inbox row before the handler runs and
    marks it done in the handler's transaction, so a crash before the commit leaves it
    pending (to be handled again) and a second delivery changes nothing.

    Updates fed without a receipt (the terminal chat, some tests) pass straight through."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        receipt: InboxReceipt | None = data.get("inbox_receipt")
        if receipt is None:
            return await handler(event, data)
        session = data["session"]
        if not await inbox.claim(session, receipt.update_id):
            logger.info("update %s already handled or being handled: skipped", receipt.update_id)
            receipt.settled = True
            return None
        result = await handler(event, data)
        if await inbox.mark_done(session, receipt.update_id, self._clock.now()):
            receipt.settled = True
            return result
        # Another process handled it meanwhile (SQLite has no row locks): undo ours.
        logger.warning(
            "update %s was handled twice; the second run is rolled back", receipt.update_id
        )
        await session.rollback()
        receipt.settled = True
        return None
