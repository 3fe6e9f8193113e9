from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from bot.clock import Clock
from bot.services import inbox
from bot.services.users import KnownUser
from models.database import has_writes

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class InboxReceipt:
    """Passed with an update fed from the inbox; says whether the update's own transaction
    settled its inbox row (marked it done, or found it was not ours to handle)."""

    update_id: int
    # Check the row is still pending (and, on PostgreSQL, lock it) before the handler runs.
    # Needless for an update this process has just stored and is alone to handle.
    claim: bool = True
    # When the handler changed nothing in the database, leave the row for the processor
    # to mark done with others in one transaction (handling it again after a crash could
    # only repeat messages, which can happen anyway). One process only: elsewhere another
    # replica could take the row for pending in between.
    batch_if_unchanged: bool = False
    settled: bool = False
    batched: bool = False
    # The sender's row, read with the update's batch and still current (bot.prefetch).
    known_user: KnownUser | None = None


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
        if receipt.claim and not await inbox.claim(session, receipt.update_id):
            logger.info("update %s already handled or being handled: skipped", receipt.update_id)
            receipt.settled = True
            return None
        result = await handler(event, data)
        if receipt.batch_if_unchanged and not await has_writes(session):
            receipt.settled = receipt.batched = True
            return result
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
