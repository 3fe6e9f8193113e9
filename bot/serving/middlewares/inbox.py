from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
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
    # The sender's row, read with the update's batch and still current (bot.serving.prefetch).
    known_user: KnownUser | None = None


class HandledElsewhere(Exception):
    """Raised out of a handler's call to Telegram when another process has handled the same
    update meanwhile: the handler's changes are rolled back before it says anything."""


_before_call: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar(
    "greenhood_before_bot_call", default=None
)


async def commit_before_call() -> None:
    """Called before every Bot API call (bot.requests.CommitBeforeCalls): inside an update,
    commits what its handler has changed so far; elsewhere, nothing."""
    hook = _before_call.get()
    if hook is not None:
        await hook()


class _UpdateTransaction:
    """Commits an update's changes before its handler talks to Telegram.

    SQLite has one writer at a time, and a transaction that has written keeps that lock
    until it ends: committed only when the handler returns, a write was held across every
    reply's round trip to Telegram, and every other update that writes (a new person's
    /start, a logged action) waited for it (100 new people: 10.7 s with 100 ms per reply,
    0.4 s for updates that write nothing). The first such commit also marks the inbox row
    done, so the changes and the mark still land together; changes made after a reply go
    in a later commit (the end of the update, or before the next call)."""

    def __init__(self, session: AsyncSession, receipt: InboxReceipt | None, clock: Clock) -> None:
        self._session = session
        self._receipt = receipt
        self._clock = clock
        self._lock = asyncio.Lock()
        # Whether some of the handler's changes are already committed (and stay, even if
        # it fails later).
        self.committed = False

    async def before_call(self) -> None:
        async with self._lock:
            if not await has_writes(self._session):
                return
            receipt = self._receipt
            if receipt is not None and not receipt.settled:
                if not await inbox.mark_done(self._session, receipt.update_id, self._clock.now()):
                    await self._session.rollback()
                    raise HandledElsewhere(receipt.update_id)
                receipt.settled = True
            await self._session.commit()
            self.committed = True


class InboxMiddleware(BaseMiddleware):
    """Inside the DB session: claims the update's inbox row before the handler runs and
    marks it done in the handler's transaction, so a crash before the commit leaves it
    pending (to be handled again) and a second delivery changes nothing. The handler's
    changes are committed before its first call to Telegram (_UpdateTransaction).

    Updates fed without a receipt (the terminal chat, some tests) have no inbox row."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        receipt: InboxReceipt | None = data.get("inbox_receipt")
        session = data["session"]
        if (
            receipt is not None
            and receipt.claim
            and not await inbox.claim(session, receipt.update_id)
        ):
            logger.info("update %s already handled or being handled: skipped", receipt.update_id)
            receipt.settled = True
            return None
        transaction = _UpdateTransaction(session, receipt, self._clock)
        token = _before_call.set(transaction.before_call)
        try:
            result = await handler(event, data)
        except HandledElsewhere:
            self._handled_twice(receipt)
            return None
        except Exception:
            # For the error handler: the apology must not invite a retry that would
            # repeat what is already saved.
            data["saved_before_failure"] = transaction.committed
            raise
        finally:
            _before_call.reset(token)
        if receipt is None or receipt.settled:
            # Settled with the changes committed before a call to Telegram; what the
            # handler changed after it is committed by the session middleware.
            return result
        if receipt.batch_if_unchanged and not await has_writes(session):
            receipt.settled = receipt.batched = True
            return result
        if await inbox.mark_done(session, receipt.update_id, self._clock.now()):
            receipt.settled = True
            return result
        await session.rollback()
        self._handled_twice(receipt)
        return None

    @staticmethod
    def _handled_twice(receipt: InboxReceipt | None) -> None:
        # Another process handled it meanwhile (SQLite has no row locks): ours is undone.
        if receipt is not None:
            logger.warning(
                "update %s was handled twice; the second run is rolled back", receipt.update_id
            )
            receipt.settled = True
