"""The sender: delivers the outbox under Telegram's limits, exactly once as far as the Bot
API allows.

How a message travels:

1. **Claim** (one committed UPDATE): due pending rows become `sending` under this sender's
   lease token. Claiming never sends anything, so a crash here costs nothing: the rows are
   put back by recovery.
2. **Start** (one committed UPDATE for the next ~100 ms of messages, distinct chats whose
   pacing allows them): `attempt_started_at` is set before their HTTP calls. Only rows still
   ours and not cancelled are started.
3. **Send** concurrently (at most `in_flight_limit` calls), each after a token from the pacer
   (`bot.pacing.Pacer`).
4. **Record**: a writer task commits outcomes as they arrive, ~10 ms of them per commit.

Crash safety: after a crash the next sender (which takes the worker lease, so it is alone)
puts every orphaned `sending` row back to `pending`. Rows never started are plainly retried.
Rows started but not recorded are the residual window: Telegram may have delivered them or
not, and the Bot API has neither an idempotency key nor a way to ask, so they are retried
(a rare duplicate is the lesser evil than a silent loss) and logged. Only those whose HTTP
call had actually reached Telegram can arrive twice: the calls in flight at the instant of
the crash plus the ~10 ms of answers not yet committed — a handful of messages, never the
broadcast. (Started rows whose call had not left yet are retried with no harm.)
A 5xx, a dropped connection or a timeout is the same uncertainty at the network level and is
also retried, with exponential backoff and a bounded number of attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import telegram_types  # noqa: F401  (keeps aiogram's response models built)
from bot.core.clock import Clock
from bot.core.host import host_id, pid_alive
from bot.services import outbox
from bot.services.outbox import ClaimedMessage, Outcome
from bot.ui import calls
from bot.ui.calls import UNREACHABLE_HINTS
from bot.worker.pacing import EPSILON, Pacer, PacerTime, RealTime
from models import OutboxStatus

logger = logging.getLogger(__name__)

OUTCOME_COALESCE_SECONDS = 0.01
# Bad Request answers that mean "this person cannot be reached", like a 403.


@dataclass(frozen=True, slots=True)
class SenderConfig:
    rate: float
    # Calls awaiting Telegram's answer at once; 0 = enough for the rate at up to 200 ms
    # of latency (a slow answer must not throttle the rate).
    max_in_flight: int = 0
    # Claimed messages are held in memory only briefly; the lease outlives that by far.
    lease: timedelta = timedelta(minutes=5)
    request_timeout: int = 15
    max_attempts: int = 6
    backoff_base: float = 2.0
    backoff_cap: float = 300.0
    # How often an idle sender looks for work queued by other processes.
    poll_interval: float = 0.5
    # A claimed message whose chat must wait longer than this goes back to the database.
    max_chat_wait: float = 2.0
    recovery_interval: float = 60.0

    @property
    def in_flight_limit(self) -> int:
        return self.max_in_flight or max(8, int(self.rate * 0.2))

    @property
    def claim_size(self) -> int:
        # About one second of sending, so claims stay cheap and the buffer stays fresh.
        return max(20, min(1000, int(self.rate)))


@dataclass
class SenderStats:
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    retried: int = 0
    rate_limited: int = 0
    cancelled_before_start: int = 0
    recovered_interrupted: int = 0
    recovered_unstarted: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def _dead_here(process: tuple[str, int] | None) -> bool:
    """A serving process of this host that no longer runs: its replies in flight are lost
    unless sent again (no need to wait for their lease)."""
    return process is not None and process[0] == host_id() and not pid_alive(process[1])


class Sender:
    def __init__(
        self,
        bot: Bot,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        config: SenderConfig,
        *,
        time: PacerTime | None = None,
    ) -> None:
        self.bot = bot
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.config = config
        self.time = time or RealTime()
        self.pacer = Pacer(config.rate, self.time)
        # Named like a reply's claim (host, pid): a sender killed while it re-sent replies
        # has them taken over at once by the next one on this host, not after their lease
        # (the crash test's cascading kills left 179 replies waiting five minutes).
        self.token = outbox.reply_token(host_id(), os.getpid(), secrets.token_hex(4))
        self.stats = SenderStats()
        self._buffer: list[ClaimedMessage] = []
        self._results: asyncio.Queue[Outcome] = asyncio.Queue()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(config.in_flight_limit)
        self._blocked_chats: set[int] = set()
        self._blob_file_ids: dict[int, str] = {}
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._unflushed = 0
        self._flushed = asyncio.Event()
        self._next_recovery = 0.0
        # Messages started per commit: about 100 ms of sending.
        self._window = max(1, min(config.in_flight_limit * 4, int(config.rate / 10)))

    # ------------------------------------------------------------------ lifecycle

    def wake(self) -> None:
        """Something was just queued in this process: look now, not at the next poll."""
        self._wake.set()

    async def recover(self, *, everyone: bool) -> outbox.Recovered:
        async with self.sessionmaker() as session:
            dead = [
                token
                for token in await outbox.reply_tokens(session)
                if _dead_here(outbox.reply_token_process(token))
            ]
            recovered = await outbox.recover(
                session, self.token, self.clock.now(), everyone=everyone, dead_tokens=dead
            )
            await session.commit()
        if recovered.interrupted:
            logger.warning(
                "%d message(s) were being sent when the previous sender stopped; Telegram may "
                "or may not have delivered them, they are sent again (ids %s)",
                recovered.interrupted,
                list(recovered.ids)[:20],
            )
        if recovered.never_started:
            logger.info("%d claimed message(s) put back in the queue", recovered.never_started)
        self.stats.recovered_interrupted += recovered.interrupted
        self.stats.recovered_unstarted += recovered.never_started
        return recovered

    async def run(self, stop: asyncio.Event, *, exclusive: bool = True) -> None:
        """Send until `stop` is set, then finish what is in flight and give back the rest.

        `exclusive`: this sender holds the worker lease (no other sender is alive), so every
        claimed row left in the database is an orphan to recover now.
        """
        await self.recover(everyone=exclusive)
        self._next_recovery = self.time.monotonic() + self.config.recovery_interval
        self._start_writer()
        try:
            while not stop.is_set():
                try:
                    worked = await self.step()
                except Exception:
                    # The database or the network hiccuped: claimed rows stay leased
                    # to us and are picked up again on the next steps.
                    logger.exception("sender step failed; retrying")
                    await self.time.sleep(1.0)
                    continue
                if not worked:
                    await self._idle(stop)
        finally:
            await self._shutdown()

    async def drain(self) -> None:
        """Send everything due now and return once it is all recorded (tests, one-shots)."""
        self._start_writer()
        try:
            while await self.step():
                pass
            await self._wait_in_flight()
            await self._flush()
        finally:
            await self._shutdown()

    def _start_writer(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_outcomes(), name="outbox-writer")

    async def _shutdown(self) -> None:
        await self._wait_in_flight()
        await self._flush()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        if self._buffer:
            ids = [message.id for message in self._buffer]
            self._buffer.clear()
            async with self.sessionmaker() as session:
                await outbox.release(session, ids, self.token, self.clock.now())
                await session.commit()

    async def _idle(self, stop: asyncio.Event) -> None:
        async with self.sessionmaker() as session:
            due = await outbox.next_due_at(session)
        wait = self.config.poll_interval
        if due is not None:
            wait = min(wait, max(0.0, (due - self.clock.now()).total_seconds()))
        self._wake.clear()
        stopper = asyncio.ensure_future(stop.wait())
        waker = asyncio.ensure_future(self._wake.wait())
        sleeper = asyncio.ensure_future(self.time.sleep(wait))
        try:
            await asyncio.wait({stopper, waker, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (stopper, waker, sleeper):
                task.cancel()
            await asyncio.gather(stopper, waker, sleeper, return_exceptions=True)

    # ------------------------------------------------------------------ one step

    async def step(self) -> bool:
        """Claim if needed and dispatch one group; False when there was nothing to do."""
        if self.time.monotonic() >= self._next_recovery:
            self._next_recovery = self.time.monotonic() + self.config.recovery_interval
            await self.recover(everyone=False)
        if len(self._buffer) < self.config.claim_size // 2:
            await self._claim()
        if not self._buffer:
            if self._in_flight:
                await self._wait_one()
                return True
            return False
        group = await self._ready_group()
        if not group:
            return True
        await self._dispatch(group)
        return True

    async def _claim(self) -> None:
        wanted = self.config.claim_size - len(self._buffer)
        async with self.sessionmaker() as session:
            claimed = await outbox.claim_due(
                session, self.token, self.clock.now(), wanted, self.config.lease
            )
            inactive = await outbox.inactive_chats(session, (m.chat_id for m in claimed))
            await session.commit()
        for message in claimed:
            if message.chat_id in inactive or message.chat_id in self._blocked_chats:
                self._skip_blocked(message)
            else:
                self._buffer.append(message)

    def _skip_blocked(self, message: ClaimedMessage) -> None:
        self._push(
            Outcome(
                message.id,
                OutboxStatus.BLOCKED,
                message.chat_id,
                error="the recipient blocked the bot",
            )
        )

    async def _ready_group(self) -> list[ClaimedMessage]:
        """The next messages whose chat may receive now (one per chat), about a tenth of a
        second of sending: they are marked started together, in one commit."""
        now = self.time.monotonic()
        ready: list[ClaimedMessage] = []
        waiting: list[ClaimedMessage] = []
        too_late: list[ClaimedMessage] = []
        chats: set[int] = set()
        earliest = float("inf")
        for message in self._buffer:
            if message.chat_id in self._blocked_chats:
                self._skip_blocked(message)
                continue
            at = self.pacer.chat_ready_at(message.chat_id)
            if at <= now + EPSILON and message.chat_id not in chats and len(ready) < self._window:
                ready.append(message)
                chats.add(message.chat_id)
            elif at - now > self.config.max_chat_wait:
                too_late.append(message)
            else:
                waiting.append(message)
                earliest = min(earliest, max(at, now))
        self._buffer = waiting
        if too_late:
            await self._release_for_later(too_late)
        if not ready and waiting:
            await self.time.sleep(max(0.0, earliest - now))
        return ready

    async def _release_for_later(self, messages: Sequence[ClaimedMessage]) -> None:
        now_mono = self.time.monotonic()
        by_delay: dict[int, list[int]] = {}
        for message in messages:
            delay = int(self.pacer.chat_ready_at(message.chat_id) - now_mono) + 1
            by_delay.setdefault(delay, []).append(message.id)
        async with self.sessionmaker() as session:
            for delay, ids in by_delay.items():
                later = self.clock.now() + timedelta(seconds=delay)
                await outbox.release(session, ids, self.token, later)
            await session.commit()

    async def _dispatch(self, group: list[ClaimedMessage]) -> None:
        # Marked started a little ahead of their HTTP calls (one commit for the group): a
        # crash in between only makes recovery resend messages that never left.
        async with self.sessionmaker() as session:
            started = await outbox.mark_started(
                session, [message.id for message in group], self.token, self.clock.now()
            )
            await session.commit()
        for message in group:
            if message.id not in started:
                # Cancelled (or taken over) between the claim and now: not ours to send.
                self.stats.cancelled_before_start += 1
                continue
            await self.pacer.acquire(1)
            self.pacer.note_dispatch(message.chat_id)
            await self._slots.acquire()
            task = asyncio.create_task(self._deliver(message), name=f"send-{message.id}")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _wait_one(self) -> None:
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)

    async def _wait_in_flight(self) -> None:
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    # ------------------------------------------------------------------ one message

    async def _deliver(self, message: ClaimedMessage) -> None:
        try:
            outcome = await self._attempt(message)
        finally:
            self._slots.release()
        self._count(outcome)
        self._push(outcome)

    def _count(self, outcome: Outcome) -> None:
        if outcome.status is OutboxStatus.SENT:
            self.stats.sent += 1
        elif outcome.status is OutboxStatus.BLOCKED:
            self.stats.blocked += 1
        elif outcome.status is OutboxStatus.FAILED:
            self.stats.failed += 1
        elif outcome.refund_attempt:
            self.stats.rate_limited += 1
        else:
            self.stats.retried += 1

    async def _attempt(self, message: ClaimedMessage) -> Outcome:
        attempt = message.attempts + 1
        try:
            sent, blob_file = await self._call(message)
        except TelegramRetryAfter as error:
            self.pacer.pause(error.retry_after)
            logger.warning(
                "Telegram asked to wait %s s (429): pausing all sends", error.retry_after
            )
            return Outcome(
                message.id,
                OutboxStatus.PENDING,
                message.chat_id,
                error=error.message,
                refund_attempt=True,
            )
        except TelegramMigrateToChat as error:
            return Outcome(
                message.id,
                OutboxStatus.PENDING,
                error.migrate_to_chat_id,
                error="group moved to a supergroup",
                refund_attempt=True,
            )
        except TelegramForbiddenError as error:
            self._blocked_chats.add(message.chat_id)
            return Outcome(message.id, OutboxStatus.BLOCKED, message.chat_id, error=error.message)
        except TelegramBadRequest as error:
            if any(hint in error.message.lower() for hint in UNREACHABLE_HINTS):
                self._blocked_chats.add(message.chat_id)
                return Outcome(
                    message.id, OutboxStatus.BLOCKED, message.chat_id, error=error.message
                )
            # The message itself is wrong (markup, length…): sending it again cannot help.
            logger.error("outbox message %s refused by Telegram: %s", message.id, error.message)
            return Outcome(message.id, OutboxStatus.FAILED, message.chat_id, error=error.message)
        except TelegramUnauthorizedError as error:
            logger.error("Telegram refuses the bot token; message %s kept for later", message.id)
            return self._retry(message, attempt, f"unauthorized: {error.message}", bounded=False)
        except TelegramAPIError as error:
            # 5xx, network errors and timeouts: delivery unknown or refused for now.
            return self._retry(message, attempt, f"{type(error).__name__}: {error.message}")
        except Exception as error:
            logger.exception("unexpected error sending outbox message %s", message.id)
            return self._retry(message, attempt, f"{type(error).__name__}: {error}")
        return Outcome(
            message.id,
            OutboxStatus.SENT,
            message.chat_id,
            sent_message_id=sent.message_id if sent is not None else None,
            blob_file_id=blob_file,
        )

    def _retry(
        self, message: ClaimedMessage, attempt: int, error: str, *, bounded: bool = True
    ) -> Outcome:
        if bounded and attempt >= self.config.max_attempts:
            logger.error(
                "outbox message %s failed after %d attempts: %s", message.id, attempt, error
            )
            return Outcome(message.id, OutboxStatus.FAILED, message.chat_id, error=error)
        delay = min(self.config.backoff_cap, self.config.backoff_base * 2 ** (attempt - 1))
        return Outcome(
            message.id,
            OutboxStatus.PENDING,
            message.chat_id,
            error=error,
            next_attempt_at=self.clock.now() + timedelta(seconds=delay),
        )

    async def _call(self, message: ClaimedMessage) -> tuple[Message | None, tuple[int, str] | None]:
        if message.call is not None:
            return await self._replay(message.call), None
        markup = (
            InlineKeyboardMarkup.model_validate(message.reply_markup)
            if message.reply_markup
            else None
        )
        timeout = self.config.request_timeout
        if message.photo_file_id is None and message.photo_blob_id is None:
            sent = await self.bot.send_message(
                message.chat_id, message.text, reply_markup=markup, request_timeout=timeout
            )
            return sent, None
        photo: str | BufferedInputFile
        uploaded_blob: int | None = None
        if message.photo_file_id is not None:
            photo = message.photo_file_id
        else:
            assert message.photo_blob_id is not None
            known = self._blob_file_ids.get(message.photo_blob_id)
            if known is None:
                async with self.sessionmaker() as session:
                    known, data, name = await outbox.blob_for_upload(session, message.photo_blob_id)
            if known is not None:
                photo = known
            else:
                photo = BufferedInputFile(data, filename=name)
                uploaded_blob = message.photo_blob_id
        sent = await self.bot.send_photo(
            message.chat_id,
            photo,
            caption=message.text or None,
            reply_markup=markup,
            request_timeout=timeout,
        )
        if uploaded_blob is not None and sent.photo:
            file_id = sent.photo[-1].file_id
            self._blob_file_ids[uploaded_blob] = file_id
            return sent, (uploaded_blob, file_id)
        return sent, None

    async def _replay(self, call: dict[str, Any]) -> Message | None:
        """A call a handler had decided (a reply, an edit) and that its process could not
        be seen to finish: made again, exactly."""
        files: dict[int, tuple[bytes, str]] = {}
        for blob_id in calls.blob_ids(call):
            async with self.sessionmaker() as session:
                _, data, name = await outbox.blob_for_upload(session, blob_id)
            files[blob_id] = (data, name)
        method = calls.decode(call, files)
        result = await self.bot(method, request_timeout=self.config.request_timeout)
        return result if isinstance(result, Message) else None

    # ------------------------------------------------------------------ outcomes

    def _push(self, outcome: Outcome) -> None:
        self._unflushed += 1
        self._flushed.clear()
        self._results.put_nowait(outcome)

    async def _flush(self) -> None:
        """Wait until every outcome pushed so far is committed."""
        if self._unflushed == 0:
            return
        if self._writer is None or self._writer.done():
            self._start_writer()
        await self._flushed.wait()

    async def _write_outcomes(self) -> None:
        while True:
            batch = [await self._results.get()]
            # A few milliseconds of outcomes per commit: far fewer transactions at high
            # rates, at the cost of that much more "delivery unknown" after a crash.
            await asyncio.sleep(OUTCOME_COALESCE_SECONDS)
            while not self._results.empty():
                batch.append(self._results.get_nowait())
            while True:
                try:
                    async with self.sessionmaker() as session:
                        await outbox.record_outcomes(session, batch, self.token, self.clock.now())
                        # A recovered reply, once delivered, is forgotten like the others.
                        await outbox.forget_sent_replies(
                            session, [o.id for o in batch if o.status is OutboxStatus.SENT]
                        )
                        await session.commit()
                    break
                except Exception:
                    # The database is briefly unavailable: outcomes stay in memory and are
                    # written as soon as it answers (until then the rows stay "sending").
                    logger.exception("could not record %d outcome(s); retrying", len(batch))
                    await asyncio.sleep(1.0)
            for item in batch:
                self.stats.by_status[item.status.value] = (
                    self.stats.by_status.get(item.status.value, 0) + 1
                )
            self._unflushed -= len(batch)
            if self._unflushed == 0:
                self._flushed.set()
