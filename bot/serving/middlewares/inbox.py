from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import TelegramMethod
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.host import host_id
from bot.services import inbox, outbox
from bot.services.users import KnownUser
from bot.ui import calls
from models import OutboxStatus
from models.database import has_writes, holds_connection, seal, unsealed

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
    # Its changes were committed before a call that tells the person nothing (the inbox
    # row says REPLYING); it is marked done at the end, or with its first message.
    replying: bool = False
    # The sender's row, read with the update's batch and still current (bot.serving.prefetch).
    known_user: KnownUser | None = None


class HandledElsewhere(Exception):
    """Raised out of a handler's call to Telegram when another process has handled the same
    update meanwhile: the handler's changes are rolled back before it says anything."""


_current: ContextVar[UpdateTransaction | None] = ContextVar(
    "greenhood_update_transaction", default=None
)

# How long a reply may stay in flight before the sender takes it for lost: longer than a
# Bot API call may take (aiogram's default request timeout is 60 s).
REPLY_LEASE = timedelta(minutes=2)


def current_transaction() -> UpdateTransaction | None:
    """The transaction of the update being handled (None outside an update)."""
    return _current.get()


def reply_token() -> str:
    """A lease token naming this process (host and pid): the replies it sends are recovered
    at once by a sender on the same host once the process is gone, and by any sender when
    their lease expires."""
    return outbox.reply_token(host_id(), os.getpid(), secrets.token_hex(3))


class ReplySettler:
    """What became of the replies this process sent, waiting to be written down.

    A reply's row is settled (deleted once delivered) by the next transaction of this
    process that writes anyway, whichever update it belongs to, or else by the update
    processor's next batch (bot.serving.processing, every BATCH_EVERY): a write
    transaction of its own per reply would double the writes of every update that
    replies after a change, and SQLite has one writer at a time. Until then a crash makes
    the sender send it again (a double, counted by the crash test), never lose it."""

    def __init__(self, token: str | None = None) -> None:
        # The lease token of this process's replies (the outbox rows name it).
        self.token = token or reply_token()
        self._pending: list[outbox.Outcome] = []

    @property
    def waiting(self) -> bool:
        return bool(self._pending)

    def add(self, outcome: outbox.Outcome) -> None:
        self._pending.append(outcome)

    def take(self) -> list[outbox.Outcome]:
        taken, self._pending = self._pending, []
        return taken

    def give_back(self, outcomes: list[outbox.Outcome]) -> None:
        self._pending[:0] = outcomes

    async def write(
        self, session: AsyncSession, outcomes: list[outbox.Outcome], now: datetime
    ) -> None:
        if outcomes:
            with unsealed(session):
                await outbox.settle_replies(session, outcomes, self.token, now)


class UpdateTransaction:
    """One update's database transaction and what its handler says, kept together.

    The handler's changes are committed before it talks to Telegram: SQLite has one writer
    at a time, and a transaction that has written keeps that lock until it ends (committed
    only when the handler returned, a write was held across every reply's round trip, and
    every other update that writes waited for it: 100 new people, 10.7 s with 100 ms per
    reply against 0.4 s). That commit also marks the inbox row done, so the changes and
    the mark land together.

    From then on the update is handled as far as the inbox knows: a reply sent after the
    commit must not be lost to a crash either. So a message or an edit (bot/ui/calls.py
    DURABLE) made once something is committed is recorded in the outbox in that same
    commit, already claimed by this process, sent right after it, and marked sent at the
    end of the update; if the process dies in between, the sender makes the call again.
    And once a message went out, the update may not write again (models.database.seal):
    what it changed after its first reply would go in a later transaction that a crash
    can lose, while the inbox already says handled. Every change, the notices it queues
    included, comes before the first message."""

    def __init__(
        self,
        session: AsyncSession,
        receipt: InboxReceipt | None,
        clock: Clock,
        settler: ReplySettler,
    ) -> None:
        self._session = session
        self._receipt = receipt
        self._clock = clock
        self._settler = settler
        self._lock = asyncio.Lock()
        # Whether some of the handler's changes are already committed (and stay, even if
        # it fails later).
        self.committed = False
        self._replies = 0
        self._settled: list[outbox.Outcome] = []

    async def before_call(self, bot: Bot, method: TelegramMethod[Any]) -> int | None:
        """Commit what the handler changed before it calls Telegram; returns the outbox id
        under which the call is kept, when it is a reply that must not be lost."""
        async with self._lock:
            chat_id = calls.chat_of(method)
            durable = self._receipt is not None and chat_id is not None and calls.is_durable(method)
            if not await has_writes(self._session) and not (durable and self.committed):
                if holds_connection(self._session):
                    # A read-only transaction ends before the network: its connection
                    # goes back to the pool instead of waiting on Telegram with it, so
                    # a small pool serves every concurrent update (models.database).
                    await self._session.commit()
                return None
            receipt = self._receipt
            if receipt is not None and not receipt.settled:
                now = self._clock.now()
                if durable:
                    # A message on record: the update is done as far as the inbox goes.
                    marked = await inbox.mark_done(self._session, receipt.update_id, now)
                    receipt.settled = marked
                elif receipt.replying:
                    marked = True
                else:
                    # Nothing said yet: if the process dies before the handler says
                    # anything, the person is told their change was saved.
                    marked = await inbox.mark_replying(self._session, receipt.update_id, now)
                    receipt.replying = marked
                if not marked:
                    await self._session.rollback()
                    raise HandledElsewhere(receipt.update_id)
            reply_id = None
            if durable:
                assert receipt is not None and chat_id is not None
                reply_id = await self._record(bot, method, receipt.update_id, chat_id)
            settled = self._settler.take()
            try:
                await self._write_outcomes(settled)
                await self._session.commit()
            except BaseException:
                self._settler.give_back(settled)
                raise
            self.committed = True
            if durable:
                # A question to Telegram (getChatMember) or the spinner's answer commits too,
                # but tells the person nothing: writing after it stays allowed.
                seal(self._session)
            return reply_id

    async def _record(
        self, bot: Bot, method: TelegramMethod[Any], update_id: int, chat_id: int
    ) -> int:
        stored = await calls.encode(bot, method)
        now = self._clock.now()
        self._replies += 1
        with unsealed(self._session):
            blobs = {
                name: await outbox.create_blob(self._session, data, now, filename)
                for name, (data, filename) in stored.files.items()
            }
            reply = outbox.Reply(
                chat_id=chat_id,
                call=stored.as_json(blobs),
                key=f"reply:{update_id}:{self._replies}",
                text=str(stored.params.get("text") or stored.params.get("caption") or ""),
            )
            return await outbox.record_reply(
                self._session, reply, self._settler.token, REPLY_LEASE, now
            )

    def reply_sent(self, reply_id: int, chat_id: int, result: object) -> None:
        message_id = getattr(result, "message_id", None)
        self._settler.add(
            outbox.Outcome(
                reply_id,
                OutboxStatus.SENT,
                chat_id,
                sent_message_id=message_id if isinstance(message_id, int) else None,
            )
        )

    def reply_failed(self, reply_id: int, chat_id: int, error: TelegramAPIError) -> None:
        """The handler sees the error as it would anyway; the kept call is settled so the
        sender does or does not make it again."""
        failure = calls.failure(error)
        status = {
            "blocked": OutboxStatus.BLOCKED,
            "refused": OutboxStatus.FAILED,
        }.get(failure.verdict, OutboxStatus.PENDING)
        retry_at = self._clock.now() + timedelta(seconds=max(failure.retry_after, 1.0))
        self._settler.add(
            outbox.Outcome(
                reply_id,
                status,
                chat_id,
                error=error.message,
                next_attempt_at=retry_at if status is OutboxStatus.PENDING else None,
            )
        )

    async def settle(self, *, alone: bool = False) -> None:
        """Record what became of the replies not written down yet, in the update's last
        transaction (given back if it does not commit, see `not_committed`). `alone`: the
        transaction would write nothing else, so they are left for the processor's next
        batch instead (ReplySettler)."""
        if alone and not await has_writes(self._session):
            return
        self._settled = self._settler.take()
        await self._write_outcomes(self._settled)

    def not_committed(self) -> None:
        self._settler.give_back(self._settled)
        self._settled = []

    async def _write_outcomes(self, outcomes: list[outbox.Outcome]) -> None:
        await self._settler.write(self._session, outcomes, self._clock.now())


class InboxMiddleware(BaseMiddleware):
    """Inside the DB session: claims the update's inbox row before the handler runs and
    marks it done in the handler's transaction, so a crash before the commit leaves it
    pending (to be handled again) and a second delivery changes nothing. The handler's
    changes are committed before its first call to Telegram (UpdateTransaction).

    Updates fed without a receipt (the terminal chat, some tests) have no inbox row."""

    def __init__(self, clock: Clock, settler: ReplySettler) -> None:
        self._clock = clock
        self._settler = settler

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
        transaction = UpdateTransaction(session, receipt, self._clock, self._settler)
        token = _current.set(transaction)
        try:
            result = await handler(event, data)
        except HandledElsewhere:
            self._handled_twice(receipt)
            return None
        except Exception:
            # For the error handler: the apology must not invite a retry that would
            # repeat what is already saved.
            data["saved_before_failure"] = transaction.committed
            # What the failed handler left uncommitted goes; what its replies became stays.
            await session.rollback()
            await transaction.settle()
            try:
                await session.commit()
            except BaseException:
                transaction.not_committed()
                raise
            raise
        finally:
            _current.reset(token)
        if receipt is not None and receipt.replying and not receipt.settled:
            # Its changes went in before a call; the rest (if any) and the mark now.
            receipt.settled = await inbox.mark_done(session, receipt.update_id, self._clock.now())
            await transaction.settle()
            return result
        if receipt is None or receipt.settled:
            # Settled with the changes committed before a call to Telegram; what the
            # handler changed after it is committed by the session middleware.
            await transaction.settle(alone=True)
            return result
        if receipt.batch_if_unchanged and not await has_writes(session):
            receipt.settled = receipt.batched = True
            return result
        if await inbox.mark_done(session, receipt.update_id, self._clock.now()):
            receipt.settled = True
            await transaction.settle()
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
