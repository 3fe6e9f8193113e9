"""From the inbox to the handlers: every received update is stored first, then handled —
one person's updates one at a time and in update_id order, different people concurrently.

Why not aiogram's own loop: aiogram confirms an update to Telegram (the next getUpdates
offset, or the webhook's 200) before its handler has finished, so a crash would lose it.
Here the confirmation comes only after the update is committed to the inbox, and the inbox
row is marked done in the handler's own transaction (bot.serving.middlewares.inbox).

Ordering: a task for update X of person P takes P's lock first. In one process (the lock
is an asyncio lock, first come first served) tasks are created in update_id order, which
is enough. When several processes share the inbox (`shared`: Redis locks, replicas), a
task holding P's lock handles every pending update of P up to X, oldest first, so
whichever task gets the lock first, P's updates run in order, and a task that finds its
update already handled has nothing to do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from pydantic import ValidationError
from pydantic_core import to_json
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import Clock
from bot.services import inbox, outbox, users
from bot.services.geo import privacy
from bot.serving.locks import Locks
from bot.serving.middlewares.inbox import InboxReceipt, ReplySettler
from bot.serving.prefetch import UserPrefetch
from bot.ui.i18n import Translator
from bot.ui.notices import recipients

logger = logging.getLogger(__name__)

# A pending update older than this that no task of this process is handling was left
# behind (a crash, a failed commit, a replica that stopped): handle it.
STALE_AFTER = timedelta(minutes=2)
# Updates whose handler changed nothing are marked done together, this often: one write
# transaction for many instead of one each (SQLite has one writer at a time).
BATCH_EVERY = 0.05


def sender_id(update: Update) -> int | None:
    """The person an update comes from (None for updates without one, e.g. channel posts)."""
    return UserContextMiddleware.resolve_event_context(update).user_id


def _payload(raw: dict[str, Any]) -> str:
    """An update as the inbox keeps it. NaN and infinities are kept as JSON constants
    (model_dump_json would write null, which Update then refuses to read back: a location
    with NaN coordinates stayed in the inbox unreadable, found on PostgreSQL by the
    hostile suite)."""
    return to_json(raw, inf_nan_mode="constants").decode()


class UpdateProcessor:
    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        locks: Locks,
        *,
        concurrency: int,
        shared: bool = False,
        queue_limit: int | None = None,
    ) -> None:
        self._bot = bot
        self._dispatcher = dispatcher
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._locks = locks
        self._shared = shared
        self._running = asyncio.Semaphore(concurrency)
        # Bounds the updates waiting for their turn: past it, the poller stops fetching and
        # the webhook answers later (Telegram then slows down).
        self._queued = asyncio.Semaphore(queue_limit or concurrency * 16)
        self._tasks: set[asyncio.Task[None]] = set()
        self._scheduled: set[int] = set()
        self._done_later: set[int] = set()
        self._batcher: asyncio.Task[None] | None = None
        self._to_store: list[tuple[Update, str, asyncio.Future[bool]]] = []
        self._storer: asyncio.Task[None] | None = None
        # Senders' rows read with their batch (bot.serving.prefetch); not when replicas share the
        # inbox, as another one may be changing a row meanwhile.
        self._prefetch = UserPrefetch()
        # What became of replies, written with the batches below when no update of this
        # process wrote them with its own changes (bot.serving.middlewares.inbox).
        # (A dispatcher not built by bot.app.wiring has none: an empty one then.)
        settler = dispatcher.get("reply_settler")
        self._settler = settler if isinstance(settler, ReplySettler) else ReplySettler()

    @property
    def shared(self) -> bool:
        """Whether other processes handle this inbox too (then no row is read ahead)."""
        return self._shared

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def parse(self, payload: str | bytes) -> Update:
        return Update.model_validate_json(payload, context={"bot": self._bot})

    def coarse(self, updates: Sequence[Update]) -> tuple[list[Update], list[str]]:
        """The updates with every shared point rounded (bot/services/geo/privacy.py),
        before anything stores them or hands them to a handler, and their payloads for
        `store` (each update dumped once, not once to round it and again to store it)."""
        result: list[Update] = []
        payloads: list[str] = []
        for update in updates:
            raw = update.model_dump(exclude_unset=True, by_alias=True)
            if (
                update.message is not None
                or update.edited_message is not None
                or update.inline_query is not None
                or update.chosen_inline_result is not None
            ) and privacy.coarsen(raw):
                update = Update.model_validate(raw, context={"bot": self._bot})
            result.append(update)
            payloads.append(_payload(raw))
        return result, payloads

    async def store(
        self, updates: Sequence[Update], payloads: Sequence[str] | None = None
    ) -> list[Update]:
        """Commit updates to the inbox; returns those not seen before, in order."""
        if payloads is None:
            payloads = [_payload(u.model_dump(exclude_unset=True, by_alias=True)) for u in updates]
        received = [
            inbox.ReceivedUpdate(update.update_id, sender_id(update), payload)
            for update, payload in zip(updates, payloads, strict=True)
        ]
        expected = (
            []
            if self._shared
            else self._prefetch.expect((r.update_id, r.user_id) for r in received)
        )
        try:
            async with self._sessionmaker() as session:
                known = (
                    await users.read_users(session, {item.user_id for item in expected})
                    if expected
                    else {}
                )
                new = await inbox.store_updates(session, received, self._clock.now())
                await session.commit()
        except BaseException:
            self._prefetch.discard(item.update_id for item in expected)
            raise
        self._prefetch.fill(expected, known)
        self._prefetch.discard(item.update_id for item in expected if item.update_id not in new)
        duplicates = len(updates) - len(new)
        if duplicates:
            logger.info("%d update(s) received again and ignored", duplicates)
        return [update for update in updates if update.update_id in new]

    async def store_one(self, update: Update, payload: str) -> bool:
        """Store one update (a webhook's) and return whether it was new. Updates arriving
        while a store is being committed wait and share the next transaction (group
        commit): one commit for many instead of one each, with no added delay when alone."""
        stored: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._to_store.append((update, payload, stored))
        if self._storer is None or self._storer.done():
            self._storer = asyncio.create_task(self._store_waiting(), name="inbox-store")
        return await stored

    async def _store_waiting(self) -> None:
        while self._to_store:
            batch, self._to_store = self._to_store, []
            try:
                new = await self.store([item[0] for item in batch], [item[1] for item in batch])
            except Exception as error:  # noqa: BLE001 - handed to every caller, who answers 503
                for _, _, stored in batch:
                    if not stored.done():
                        stored.set_exception(error)
                continue
            new_ids = {update.update_id for update in new}
            for update, _, stored in batch:
                # The same update twice in one batch: only its first copy is new.
                is_new = update.update_id in new_ids
                new_ids.discard(update.update_id)
                if not stored.done():
                    stored.set_result(is_new)

    async def schedule(self, update: Update, *, fresh: bool = True) -> None:
        """Handle a stored update in the background (waits while the queue is full).
        `fresh`: this process has just stored it (not read back from the inbox)."""
        if update.update_id in self._scheduled:
            return
        await self._queued.acquire()
        self._scheduled.add(update.update_id)
        claim = self._shared or not fresh
        task = asyncio.create_task(
            self._process(update, claim=claim), name=f"update-{update.update_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _process(self, update: Update, *, claim: bool) -> None:
        try:
            user_id = sender_id(update)
            if user_id is None:
                async with self._running:
                    await self._feed(update, claim=claim, user_id=None)
                return
            # The person's lock first: updates waiting for it hold no running slot.
            async with self._locks.lock(f"user:{user_id}"), self._running:
                if self._shared:
                    await self._drain_user(user_id, update)
                else:
                    await self._feed(update, claim=claim, user_id=user_id)
        except Exception:  # a task boundary: the update stays in the inbox
            logger.exception(
                "update %s could not be handled now; it stays pending", update.update_id
            )
        finally:
            self._prefetch.discard((update.update_id,))
            if update.update_id not in self._done_later:
                self._scheduled.discard(update.update_id)
            self._queued.release()

    async def _drain_user(self, user_id: int, update: Update) -> None:
        async with self._sessionmaker() as session:
            pending = await inbox.pending_for_user(session, user_id, update.update_id)
        for row in pending:
            if row.update_id == update.update_id:
                await self._feed(update, claim=True, user_id=user_id)
                continue
            try:
                earlier = self.parse(row.payload)
            except ValidationError:
                logger.exception("update %s in the inbox is unreadable", row.update_id)
                await self._mark_failed(row.update_id)
                continue
            await self._feed(earlier, claim=True, user_id=user_id)

    async def _feed(self, update: Update, *, claim: bool, user_id: int | None) -> None:
        receipt = InboxReceipt(
            update.update_id,
            claim=claim,
            batch_if_unchanged=not self._shared,
            known_user=self._prefetch.take(update.update_id),
        )
        if user_id is not None:
            # Rows read for the person's later updates may be out of date from now on.
            self._prefetch.touch(user_id)
        try:
            result = await self._dispatcher.feed_update(self._bot, update, inbox_receipt=receipt)
            if isinstance(result, TelegramMethod):
                await self._dispatcher.silent_call_request(self._bot, result)
        except Exception:  # the error handler itself failed: logged, not retried
            logger.exception("update %s failed outside its handler", update.update_id)
        finally:
            if user_id is not None:
                self._prefetch.touch(user_id)
        if receipt.batched:
            self._mark_done_later(update.update_id)
        elif self._settler.waiting:
            self._start_batcher()
        if not receipt.settled:
            # The handler raised (its changes were rolled back and the person got an
            # apology): handling it again would fail the same way.
            await self._mark_failed(update.update_id)

    def _mark_done_later(self, update_id: int) -> None:
        # Still counted as scheduled until committed, so nothing picks it up meanwhile.
        self._done_later.add(update_id)
        self._start_batcher()

    def _start_batcher(self) -> None:
        if self._batcher is None or self._batcher.done():
            self._batcher = asyncio.create_task(self._mark_batches(), name="inbox-done-batches")

    def _batch_waiting(self) -> bool:
        return bool(self._done_later) or self._settler.waiting

    async def _mark_batches(self) -> None:
        while self._batch_waiting():
            await asyncio.sleep(BATCH_EVERY)
            batch, self._done_later = list(self._done_later), set()
            outcomes = self._settler.take()
            try:
                async with self._sessionmaker() as session:
                    now = self._clock.now()
                    if batch:
                        await inbox.mark_many_done(session, batch, now)
                    await self._settler.write(session, outcomes, now)
                    await session.commit()
            except SQLAlchemyError:
                # The updates stay pending and will be handled again (their handlers
                # changed nothing in the database; a message may be repeated); the
                # replies' outcomes wait for the next batch.
                self._settler.give_back(outcomes)
                logger.exception("could not mark %d handled update(s) done", len(batch))
                if outcomes:
                    await asyncio.sleep(BATCH_EVERY * 20)
            finally:
                self._scheduled.difference_update(batch)

    async def _mark_failed(self, update_id: int) -> None:
        async with self._sessionmaker() as session:
            await inbox.mark_failed(session, update_id, self._clock.now())
            await session.commit()

    async def recover(self, *, stale_only: bool = False) -> int:
        """Schedule pending updates nobody here is handling (all at start-up; later only
        those pending for longer than STALE_AFTER). Returns how many."""
        await self._close_abandoned(stale_only=stale_only)
        received_before = self._clock.now() - STALE_AFTER if stale_only else None
        after: int | None = None
        count = 0
        while True:
            async with self._sessionmaker() as session:
                page = await inbox.pending_updates(
                    session, received_before=received_before, after=after
                )
            if not page:
                return count
            for row in page:
                after = row.update_id
                if row.update_id in self._scheduled:
                    continue
                try:
                    update = self.parse(row.payload)
                except ValidationError:
                    logger.exception("update %s in the inbox is unreadable", row.update_id)
                    await self._mark_failed(row.update_id)
                    continue
                await self.schedule(update, fresh=False)
                count += 1

    async def _close_abandoned(self, *, stale_only: bool) -> None:
        """Updates whose changes were committed and whose process died before the handler
        said anything (InboxStatus.REPLYING): handling them again would apply them twice,
        so each person is told, in their language, that their change was saved."""
        now = self._clock.now()
        async with self._sessionmaker() as session:
            rows = await inbox.abandoned(
                session, before=now - STALE_AFTER if stale_only or self._shared else None
            )
        translator: Translator = self._dispatcher["translator"]
        for update_id, user_id in rows:
            if update_id in self._scheduled:
                continue
            async with self._sessionmaker() as session:
                if not await inbox.close_abandoned(session, update_id, now):
                    continue
                person = await recipients.reachable(session, user_id) if user_id else None
                if person is not None:
                    locale = recipients.locale_of(translator, person)
                    await outbox.enqueue(
                        session,
                        chat_id=person.id,
                        kind="apology.saved",
                        text=translator.t("errors.apology_saved", locale),
                        key=f"apology:{update_id}",
                        now=now,
                        priority=outbox.Priority.INTERACTIVE,
                    )
                await session.commit()
            logger.warning("update %s was cut after its changes were saved; person told", update_id)

    async def idle(self) -> None:
        """Wait until every scheduled update is handled and recorded as such."""
        while self._tasks or (self._batcher is not None and not self._batcher.done()):
            waiting = set(self._tasks)
            if self._batcher is not None and not self._batcher.done():
                waiting.add(self._batcher)
            await asyncio.wait(waiting)

    async def drain(self, timeout: float) -> int:  # noqa: ASYNC109 - a bound, not a wait
        """Let the updates being handled finish (at most `timeout` seconds); those still
        running are cancelled and stay pending in the inbox. Returns how many were cut."""
        if self._storer is not None:
            # Updates being stored are answered (and scheduled) before the rest is drained.
            await self._storer
        tasks = set(self._tasks)
        unfinished: set[asyncio.Task[None]] = set()
        if tasks:
            _, unfinished = await asyncio.wait(tasks, timeout=timeout)
            for task in unfinished:
                task.cancel()
            if unfinished:
                await asyncio.gather(*unfinished, return_exceptions=True)
                logger.warning("%d update(s) left for the next start", len(unfinished))
        if self._batcher is not None:
            await self._batcher
        return len(unfinished)
